// The call simulator: plays the step's recorded prompts one after another, as the line
// plays its <Play> verbs. A same-origin file: the gateway's CSP allows no inline script.
(function () {
  "use strict";
  var prompts = Array.prototype.slice.call(document.querySelectorAll("audio.prompt-audio"));
  var button = document.getElementById("play-prompts");
  var next = 0;
  var played = 0;

  function bubble(audio) {
    return audio.closest("li");
  }

  function finished() {
    document.body.setAttribute("data-prompts", "played");
    if (button) {
      button.hidden = true;
    }
  }

  function playNext() {
    if (next >= prompts.length) {
      finished();
      return;
    }
    var audio = prompts[next];
    var done = false;
    function onDone(event) {
      if (done) {
        return;
      }
      done = true;
      bubble(audio).classList.remove("playing");
      if (event.type === "ended") {
        played += 1;
        audio.setAttribute("data-played", String(played));
      }
      next += 1;
      playNext();
    }
    audio.addEventListener("ended", onDone);
    audio.addEventListener("error", onDone);  // a missing file: go on with the next
    bubble(audio).classList.add("playing");
    var started = audio.play();
    if (started && typeof started.catch === "function") {
      started.catch(function (error) {
        if (error && error.name === "NotAllowedError") {
          // The browser wants a click on this page before it plays sound.
          audio.removeEventListener("ended", onDone);
          audio.removeEventListener("error", onDone);
          bubble(audio).classList.remove("playing");
          if (button) {
            button.hidden = false;
          }
        }
      });
    }
  }

  if (button) {
    button.addEventListener("click", function () {
      button.hidden = true;
      playNext();
    });
  }
  if (prompts.length) {
    playNext();
  } else {
    finished();
  }
})();
