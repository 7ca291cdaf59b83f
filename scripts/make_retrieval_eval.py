"""Write a small retrieval eval set: multi-page PDFs (one topic per page) and questions.

    python scripts/make_retrieval_eval.py OUT_DIR
    python -m scripts.eval_retrieval OUT_DIR/questions.jsonl --profile offline
    python -m scripts.eval_retrieval OUT_DIR/crosslingual.jsonl --profile offline

questions.jsonl: English questions on English PDFs and Korean questions on a Korean PDF.
crosslingual.jsonl: Korean questions on the English PDFs (the offline embedder is
English-only; the hub profile's multilingual embedder is meant for these).
Questions paraphrase the page instead of copying its sentences.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from docfixtures import draw_ruled_table, write_paragraph  # noqa: E402

CITY_GUIDE = [
    (
        "History of Marenna",
        "Marenna began as a fishing village on the mouth of the Sella river in the eleventh "
        "century. Its walls were built in 1312 after a pirate raid burned the harbour. In the "
        "eighteenth century the town grew rich on the silk trade with the east, and the merchant "
        "houses along Via Lunga date from that period. The old town became a protected "
        "heritage site in 1987.",
    ),
    (
        "Getting around",
        "Three tram lines cross the city; line 2 connects the central station with the beach "
        "in twenty minutes. A single ticket costs 1.80 euros and is valid for ninety minutes, "
        "including transfers. Bicycles can be rented from 140 docking stations with the city "
        "app. Cars are banned from the old town except for residents and deliveries before 10 am.",
    ),
    (
        "Food and markets",
        "The covered market on Piazza Grano opens at 7 am every day except Monday. Local dishes "
        "include black rice with cuttlefish, chickpea pancakes baked in wood ovens, and almond "
        "biscuits called 'stelle'. Most restaurants serve lunch from 12:30 to 14:30 and dinner "
        "after 19:30; tipping is not expected but rounding up is common.",
    ),
    (
        "Museums",
        "The Maritime Museum shows a restored 16th-century galley and a collection of ship "
        "models. Entry is free on the first Sunday of each month. The Silk House museum explains "
        "how silk was spun and dyed, with looms still demonstrated on Saturdays. Both museums are "
        "closed on Mondays.",
    ),
    (
        "Parks and beaches",
        "The Orto Botanico has 4,000 plant species and a palm greenhouse from 1870. North of "
        "the harbour, the Lido beach is sandy and has lifeguards from June to September. The "
        "rocky coves of Punta Rossa are better for snorkelling; bring water shoes because of "
        "sea urchins.",
    ),
    (
        "Climate and when to visit",
        "Summers are hot and dry with afternoon highs around 31 degrees; July is the sunniest "
        "month. Most rain falls in November, when storms can close the ferries. Spring, from "
        "April to early June, is the most pleasant season for walking, and hotel prices are "
        "lower than in August.",
    ),
    (
        "Festivals",
        "On the third weekend of June the Feast of the Lanterns fills the harbour with floating "
        "paper lights. The jazz festival takes place in the castle courtyard during the last "
        "week of July. In December a Christmas market with wooden stalls runs along the "
        "waterfront.",
    ),
    (
        "Where to stay",
        "The old town has small guesthouses in restored merchant houses, but few have lifts. "
        "Families often prefer the apartments near the Lido beach. The youth hostel next to the "
        "central station has dormitory beds from 28 euros a night. A tourist tax of 2 euros per "
        "person per night is added to every bill.",
    ),
]

LAB_MANUAL = [
    (
        "General safety rules",
        "Lab coats and safety glasses must be worn at all times in the wet lab. Food and drinks "
        "are not allowed past the yellow line. Report every spill, cut or burn to the lab manager "
        "on the same day, even if it seems minor. The emergency shower is next to the north door.",
    ),
    (
        "Using the centrifuge",
        "Always balance the rotor: tubes opposite each other must have the same mass within 0.1 "
        "grams. Never open the lid before the rotor has stopped completely. The high-speed "
        "centrifuge must be booked in the online calendar, and runs above 20,000 g need the "
        "sealed rotor lid.",
    ),
    (
        "PCR protocol",
        "Prepare the master mix on ice. Run 35 cycles: denaturation at 95 degrees for 30 "
        "seconds, annealing at 58 degrees for 30 seconds, and extension at 72 degrees for one "
        "minute per kilobase. Finish with a final extension of five minutes and hold at 4 degrees.",
    ),
    (
        "Waste disposal",
        "Sharps go into the yellow rigid containers, which are collected when three quarters full. "
        "Biological waste is autoclaved before disposal. Solvents are collected in labelled glass "
        "bottles; never pour chloroform or phenol down the sink.",
    ),
    (
        "Microscope care",
        "Clean the objectives only with lens paper and a drop of lens cleaning fluid. Switch off "
        "the mercury lamp after use and wait thirty minutes before switching it on again. Cover "
        "the confocal microscope with its dust cover at the end of the day.",
    ),
    (
        "Reagent stock",
        "The table lists the reagents kept in the cold room, with the shelf where each is stored "
        "and the minimum stock before a new order must be placed.",
    ),
]
LAB_TABLE_PAGE = 6
LAB_TABLE = (
    ["Reagent", "Shelf", "Minimum stock", "Supplier"],
    [
        ["Agarose", "B2", "2 bottles", "Sigma"],
        ["Taq polymerase", "Freezer 1", "5 kits", "NEB"],
        ["Ethanol 70%", "A1", "10 litres", "Merck"],
        ["Tris buffer", "B4", "3 litres", "Thermo"],
    ],
)

HR_HANDBOOK_KO = [
    (
        "연차 휴가",
        "입사 첫해에는 한 달 개근할 때마다 하루의 유급 휴가가 생깁니다. 1년 이상 근무한 직원은 "
        "매년 15일의 연차를 받으며, 3년마다 하루씩 늘어납니다. 사용하지 못한 연차는 다음 해 "
        "3월까지만 이월할 수 있습니다. 휴가 신청은 최소 3일 전에 인사 시스템에서 해야 합니다.",
    ),
    (
        "재택근무",
        "모든 직원은 팀장의 승인을 받아 주 2회까지 재택근무를 할 수 있습니다. 재택근무일에도 오전 "
        "10시부터 오후 4시까지는 메신저에 접속해 있어야 합니다. 회사는 모니터와 의자 구입비로 "
        "1인당 최대 30만 원을 지원합니다.",
    ),
    (
        "급여 지급",
        "급여는 매월 25일에 지급되며, 25일이 주말이나 공휴일이면 그 전 영업일에 지급됩니다. "
        "급여 명세서는 지급일 이틀 전에 이메일로 발송됩니다. 초과 근무 수당은 다음 달 급여에 "
        "함께 지급됩니다.",
    ),
    (
        "교육 지원",
        "직무와 관련된 외부 교육과 자격증 응시료는 연간 200만 원까지 회사가 부담합니다. 어학 "
        "학원비는 매월 10만 원까지 지원되며, 출석률이 80% 이상이어야 합니다. 교육을 마친 뒤에는 "
        "2주 안에 결과 보고서를 제출해야 합니다.",
    ),
    (
        "출장비 정산",
        "국내 출장의 숙박비는 1박에 12만 원까지, 식비는 하루 4만 원까지 인정됩니다. 해외 출장은 "
        "국가별 기준표를 따릅니다. 영수증은 출장에서 돌아온 뒤 7일 안에 경비 시스템에 올려야 "
        "합니다. 택시는 밤 11시 이후이거나 짐이 많을 때만 이용할 수 있습니다.",
    ),
    (
        "정보 보안",
        "회사 노트북에는 승인되지 않은 프로그램을 설치할 수 없습니다. 비밀번호는 90일마다 바꾸고, "
        "12자 이상으로 만들어야 합니다. 고객 자료를 개인 이메일이나 USB 메모리로 옮기는 것은 "
        "금지되어 있습니다. 노트북을 잃어버리면 즉시 보안팀에 신고해야 합니다.",
    ),
]

QUESTIONS = [  # (file, question, page)
    ("city_guide.pdf", "When were the town walls built, and why?", 1),
    ("city_guide.pdf", "How much is a tram ticket and how long can I use it?", 2),
    ("city_guide.pdf", "Can I drive my car into the historic centre?", 2),
    ("city_guide.pdf", "What traditional dishes should I try?", 3),
    ("city_guide.pdf", "Is there a day when the maritime museum costs nothing?", 4),
    ("city_guide.pdf", "Where is the best place to go snorkelling?", 5),
    ("city_guide.pdf", "Which month has the most rain?", 6),
    ("city_guide.pdf", "When is the lantern celebration?", 7),
    ("city_guide.pdf", "How expensive is a bed in the hostel?", 8),
    ("city_guide.pdf", "Is there an extra tax on hotel stays?", 8),
    ("lab_manual.pdf", "Where is the emergency shower?", 1),
    ("lab_manual.pdf", "How precisely do the tubes need to be balanced?", 2),
    ("lab_manual.pdf", "What annealing temperature does the protocol use?", 3),
    ("lab_manual.pdf", "Can I pour phenol into the sink?", 4),
    ("lab_manual.pdf", "How should I clean the lenses of the objectives?", 5),
    ("lab_manual.pdf", "Which shelf holds the agarose?", 6),
    ("lab_manual.pdf", "Who supplies the Taq polymerase?", 6),
    ("hr_handbook_ko.pdf", "1년 넘게 일하면 연차가 며칠인가요?", 1),
    ("hr_handbook_ko.pdf", "일주일에 집에서 며칠 일할 수 있나요?", 2),
    ("hr_handbook_ko.pdf", "월급은 언제 들어오나요?", 3),
    ("hr_handbook_ko.pdf", "자격증 시험 비용을 회사가 내주나요?", 4),
    ("hr_handbook_ko.pdf", "출장 가서 호텔비는 얼마까지 되나요?", 5),
    ("hr_handbook_ko.pdf", "비밀번호는 얼마나 자주 바꿔야 하나요?", 6),
    ("hr_handbook_ko.pdf", "노트북을 분실하면 어떻게 해야 하나요?", 6),
    # added after the fusion was chosen on the questions above (a held-out check)
    ("city_guide.pdf", "What was Marenna's source of wealth in the 1700s?", 1),
    ("city_guide.pdf", "Which tram goes to the seaside?", 2),
    ("city_guide.pdf", "What days is the covered market closed?", 3),
    ("city_guide.pdf", "When can I watch the silk looms working?", 4),
    ("city_guide.pdf", "Are there lifeguards at the sandy beach?", 5),
    ("city_guide.pdf", "What's the best season for walking tours?", 6),
    ("city_guide.pdf", "When does the jazz festival happen?", 7),
    ("lab_manual.pdf", "Do I need to book the fast centrifuge?", 2),
    ("lab_manual.pdf", "How long is the final extension step?", 3),
    ("lab_manual.pdf", "When are the sharps containers picked up?", 4),
    ("lab_manual.pdf", "How long must the mercury lamp cool before restarting?", 5),
    ("lab_manual.pdf", "What is the minimum stock of ethanol?", 6),
    ("hr_handbook_ko.pdf", "안 쓴 휴가는 언제까지 넘길 수 있나요?", 1),
    ("hr_handbook_ko.pdf", "재택근무할 때 몇 시부터 몇 시까지 접속해야 하나요?", 2),
    ("hr_handbook_ko.pdf", "급여 명세서는 언제 받나요?", 3),
    ("hr_handbook_ko.pdf", "영어 학원비도 지원되나요?", 4),
    ("hr_handbook_ko.pdf", "택시는 언제 탈 수 있나요?", 5),
    ("hr_handbook_ko.pdf", "USB로 고객 자료를 옮겨도 되나요?", 6),
]

CROSSLINGUAL = [  # Korean questions about English documents
    ("city_guide.pdf", "트램 표는 얼마인가요?", 2),
    ("city_guide.pdf", "비가 가장 많이 오는 달은 언제인가요?", 6),
    ("city_guide.pdf", "호스텔 침대는 하룻밤에 얼마인가요?", 8),
    ("lab_manual.pdf", "비상 샤워기는 어디에 있나요?", 1),
    ("lab_manual.pdf", "PCR의 어닐링 온도는 몇 도인가요?", 3),
    ("lab_manual.pdf", "아가로스는 어느 선반에 있나요?", 6),
]


def write_pdf(
    path: Path, pages, fontname: str = "helv", table_page: int | None = None, table=None
) -> None:
    import pymupdf

    doc = pymupdf.open()
    for number, (title, body) in enumerate(pages, start=1):
        page = doc.new_page()
        y = write_paragraph(page, 72, title, fontsize=16, fontname=fontname)
        y = write_paragraph(page, y + 6, body, fontname=fontname)
        if number == table_page:
            draw_ruled_table(page, (72, y + 10), *table, col_width=110)
    doc.save(str(path))
    doc.close()


def write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for file, question, page in rows:
            f.write(
                json.dumps({"file": file, "question": question, "page": page}, ensure_ascii=False)
                + "\n"
            )


def main(out: str) -> None:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    write_pdf(folder / "city_guide.pdf", CITY_GUIDE)
    write_pdf(folder / "lab_manual.pdf", LAB_MANUAL, table_page=LAB_TABLE_PAGE, table=LAB_TABLE)
    write_pdf(folder / "hr_handbook_ko.pdf", HR_HANDBOOK_KO, fontname="korea")
    write_jsonl(folder / "questions.jsonl", QUESTIONS)
    write_jsonl(folder / "crosslingual.jsonl", CROSSLINGUAL)
    print(
        f"wrote 3 PDFs, {len(QUESTIONS)} questions and {len(CROSSLINGUAL)} cross-lingual "
        f"questions to {folder}"
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
