"""Report pages: one self-contained file, everything escaped, images embedded."""

import base64
import re

from n3fit_gpu.outputs.html_page import Page

PNG = bytes.fromhex("89504e470d0a1a0a") + b"not really an image"


def test_text_is_escaped_and_images_embedded(tmp_path):
    page = Page("fit <b>x</b>")
    page.table(["dataset", "χ²"], [["<script>alert(1)</script>", -0.0], ["ok", None]])
    page.image(PNG, 'a "plot"').image(tmp_path / "missing.png", "never drawn")
    page.code("a < b", summary="runcard")
    text = page.write(tmp_path / "r.html").read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "<td>0</td>" in text and "<td></td>" in text  # -0 shown as 0, None as empty
    (data,) = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert base64.b64decode(data) == PNG
    assert "missing.png was not drawn" in text and "http" not in text  # nothing fetched
    assert "<details><summary>runcard</summary><pre>a &lt; b</pre></details>" in text
