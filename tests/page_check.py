"""Checks a report page: it renders in headless Chromium with no console message where one is
installed, and always parses with every tag closed in order, holds no script and no external
address, embeds its images."""

import html.parser
import shutil
import subprocess
from pathlib import Path


class Page(html.parser.HTMLParser):
  """The page's tags, checked as they close, and its images."""

  def __init__(self):
    super().__init__()
    self.open, self.images = [], 0

  def handle_starttag(self, tag, attrs):
    if tag == "img":
      self.images += 1
      assert dict(attrs)["src"].startswith("data:image/png;base64,")
    elif tag != "meta":
      self.open.append(tag)

  def handle_endtag(self, tag):
    assert self.open and self.open.pop() == tag, tag


def check(path: Path, heading: str) -> Page:
  text = path.read_text()
  assert "<script" not in text and "http://" not in text and "https://" not in text
  page = Page()
  page.feed(text)
  page.close()
  assert page.open == [] and f"<h1>{heading}</h1>" in text
  browser = shutil.which("chromium") or shutil.which("chromium-browser")
  if browser:
    done = subprocess.run([browser, "--headless", "--disable-gpu", "--no-sandbox",
                           "--enable-logging=stderr", "--v=0", "--dump-dom", path.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and heading in done.stdout, done.stderr[-1000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
  return page
