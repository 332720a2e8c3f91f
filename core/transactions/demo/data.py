"""The demo's made-up world: its departments and agencies, the names its people are drawn
from, the stages it shows and their mix, and the fixed first transaction the README names."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_NUMBER = "1447001"
DEMO_NATIONAL_ID = "1234567897"
DEMO_MOBILE = "0501234567"


@dataclass(frozen=True)
class DemoDepartment:
    code: str
    name_ar: str
    name_en: str
    manager: str
    manager_mobile: str
    reply_days: int | None
    subjects: tuple[str, ...]
    agencies: tuple[str, ...]


DEPARTMENTS = (
    DemoDepartment(
        "PRIVATE-RIGHTS", "إدارة الحقوق الخاصة", "Private Rights Department",
        "سعد بن فهد الدوسري", "0501000101", None,
        ("استدعاء بشأن نزاع على أرض زراعية", "مطالبة مالية بموجب سند لأمر",
         "طلب تنفيذ صلح بين طرفين", "شكوى تعدٍّ على ملكية خاصة",
         "طلب إيقاف البناء على أرض متنازع عليها"),
        ("COURT", "MOJ", "AMANA", "POLICE")),
    DemoDepartment(
        "PUBLIC-RIGHTS", "إدارة الحقوق العامة", "Public Rights Department",
        "عبدالعزيز بن ناصر الشهري", "0551000202", 14,
        ("طلب إطلاق سراح موقوف بكفالة", "طلب العفو عن محكوم", "طلب تأجيل تنفيذ حكم",
         "طلب زيارة سجين", "طلب إيقاف ترحيل"),
        ("POLICE", "COURT", "MOJ", "JAWAZAT")),
    DemoDepartment(
        "SECURITY", "إدارة الشؤون الأمنية", "Security Affairs Department",
        "فيصل بن سلطان العنزي", "0531000303", 7,
        ("طلب رفع منع سفر", "طلب تصريح سفر لأحد أفراد الأسرة", "بلاغ عن إزعاج متكرر",
         "طلب تمديد مهلة المغادرة"),
        ("MOI", "JAWAZAT", "POLICE")),
    DemoDepartment(
        "CITIZENS", "إدارة شؤون المواطنين", "Citizens Affairs Department",
        "ماجد بن عبدالله الحربي", "0561000404", None,
        ("طلب مساعدة مالية", "طلب علاج في الخارج", "طلب سكن لأسرة محتاجة",
         "طلب مساعدة علاجية", "طلب إعانة لذوي الإعاقة"),
        ("MOH", "HRSD", "CIVIL-STATUS")),
    DemoDepartment(
        "ADMIN-COMMS", "إدارة الاتصالات الإدارية", "Administrative Communications Department",
        "منيرة بنت صالح القحطاني", "0541000505", None,
        ("طلب إفادة بحالة معاملة", "طلب صورة من معاملة سابقة", "طلب تصديق مستند",
         "طلب إحالة معاملة إلى جهة الاختصاص"),
        ("MOI", "CIVIL-STATUS", "HRSD")),
    DemoDepartment(
        "GOVERNORATES", "إدارة شؤون المحافظات", "Governorates Affairs Department",
        "تركي بن حمد السبيعي", "0591000606", 15,
        ("طلب منحة أرض سكنية", "طلب إيصال الخدمات إلى قرية", "شكوى من تعثر مشروع بلدي",
         "طلب سفلتة وإنارة طريق", "طلب تعويض عن نزع ملكية عقار"),
        ("AMANA", "HRSD", "MOH")),
)

AGENCIES = (
    ("MOI", "وزارة الداخلية", "Ministry of Interior"),
    ("MOJ", "وزارة العدل", "Ministry of Justice"),
    ("MOH", "وزارة الصحة", "Ministry of Health"),
    ("AMANA", "أمانة المنطقة", "Regional Municipality"),
    ("POLICE", "شرطة المنطقة", "Regional Police"),
    ("COURT", "المحكمة العامة", "General Court"),
    ("JAWAZAT", "المديرية العامة للجوازات", "General Directorate of Passports"),
    ("HRSD", "وزارة الموارد البشرية والتنمية الاجتماعية",
     "Ministry of Human Resources and Social Development"),
    ("CIVIL-STATUS", "الأحوال المدنية", "Civil Status Agency"),
)

# (Arabic, Latin for the e-mail address)
MEN = (("محمد", "mohammed"), ("عبدالله", "abdullah"), ("عبدالرحمن", "abdulrahman"),
       ("فهد", "fahad"), ("خالد", "khalid"), ("سعد", "saad"), ("سلطان", "sultan"),
       ("تركي", "turki"), ("ناصر", "nasser"), ("فيصل", "faisal"), ("بندر", "bandar"),
       ("ماجد", "majed"), ("إبراهيم", "ibrahim"), ("عبدالعزيز", "abdulaziz"),
       ("سليمان", "sulaiman"), ("يوسف", "yousef"), ("عمر", "omar"), ("صالح", "saleh"),
       ("منصور", "mansour"), ("نايف", "naif"), ("مشعل", "mishal"), ("راشد", "rashed"))
WOMEN = (("نورة", "noura"), ("سارة", "sara"), ("مريم", "maryam"), ("هيفاء", "haifa"),
         ("منيرة", "munira"), ("لطيفة", "latifa"), ("أمل", "amal"), ("ريم", "reem"),
         ("هند", "hind"), ("الجوهرة", "aljawhara"), ("العنود", "alanoud"),
         ("أسماء", "asma"), ("فاطمة", "fatimah"), ("دلال", "dalal"), ("شهد", "shahad"))
FAMILIES = ("العتيبي", "القحطاني", "الدوسري", "الشمري", "الحربي", "المطيري", "الغامدي",
            "الزهراني", "السبيعي", "العنزي", "الرشيدي", "الشهري", "السهلي", "البقمي",
            "التميمي", "الجهني", "العمري", "المالكي", "الخالدي", "الشهراني")
# Residents (Iqama numbers start with 2); some prefer English.
RESIDENTS_FIRST = (("عمران", "imran"), ("رفيق", "rafiq"), ("أنور", "anwar"),
                   ("جمال", "jamal"), ("حسن", "hassan"), ("سليم", "salim"))
RESIDENTS_FAMILY = ("قريشي", "خان", "الأنصاري", "حسين", "رحمن", "الصديقي")
MOBILE_PREFIXES = ("50", "53", "54", "55", "56", "58", "59")

# What the demo shows, and how many of each in a hundred.
STAGES = {
    "registered": 8, "referred": 12, "assigned": 20, "issued": 10,
    "awaiting_reply": 10, "overdue": 10, "reply_received": 12, "closed": 18,
}
STATUS_OF_STAGE = {"awaiting_reply": "issued", "overdue": "issued"}
STAGE_LABELS = {
    "registered": "registered, not yet referred",
    "referred": "referred to a department",
    "assigned": "assigned to a researcher (under study)",
    "issued": "issued, no reply expected",
    "awaiting_reply": "issued, awaiting the agency's reply",
    "overdue": "issued, the agency's reply is overdue",
    "reply_received": "the agency replied",
    "closed": "completed",
}
# The stages the report offers to look up, after the fixed first transaction.
LOOKUP_STAGES = ("registered", "overdue", "closed")
