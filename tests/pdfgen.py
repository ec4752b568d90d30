"""Write test PDFs with fpdf2: two columns, a running header and page numbers."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
RUNNING_HEADER = "Advances in Nursing · Vol 5 · Issue 2"


class _Journal(FPDF):
    def header(self) -> None:
        self.set_font("body", size=7)
        self.cell(0, 5, RUNNING_HEADER, align="C")
        self.ln(8)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("body", size=7)
        self.cell(0, 5, str(self.page_no()), align="C")


def article_to_pdf(text: str, target: Path) -> Path:
    """The title across the page, then every block in two columns, one blank line apart."""
    blocks = [block.strip() for block in text.split("\n\n") if block.strip()]
    pdf = _Journal()
    pdf.add_font("body", fname=str(FONT))
    pdf.set_font("body", size=9)
    pdf.add_page()
    pdf.multi_cell(0, 6, blocks[0])
    pdf.ln(2)
    with pdf.text_columns(ncols=2, gutter=6) as columns:
        for block in blocks[1:]:
            is_list = block.lstrip().startswith(("- [", "["))
            lines = [line.strip() for line in block.splitlines()] if is_list else [" ".join(block.split())]
            columns.write(text="\n".join(lines) + "\n\n")
    pdf.output(str(target))
    return target


def lines_to_pdf(lines: list[str], target: Path) -> Path:
    """One line of text per PDF line, as given: for hyphenation and header tests."""
    pdf = _Journal()
    pdf.add_font("body", fname=str(FONT))
    pdf.set_font("body", size=10)
    pdf.add_page()
    for line in lines:
        if line:
            pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.ln(5)
    pdf.output(str(target))
    return target
