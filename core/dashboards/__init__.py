"""What leaders and managers see on the dashboards: Citizen's Voice's figures per agency,
category and channel (``voice``), the transactions' performance per department
(``transactions``), the summaries the scheduler keeps so that pages never scan the
whole history, and the lists behind every figure."""
