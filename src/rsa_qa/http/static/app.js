// The search page: asks GET /query and GET /sections, and draws the answer with DOM calls only
// (never innerHTML), so nothing in a passage or a question can become markup.
"use strict";

const form = document.getElementById("search");
const question = document.getElementById("q");
const sectionSelect = document.getElementById("section");
const topK = document.getElementById("top-k");
const statusLine = document.getElementById("status");
const verdict = document.getElementById("verdict");
const results = document.getElementById("results");

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const KEY_STORE = "rsa-qa-api-key";

// When the service requires an API key (RSA_QA_API_KEY), ask for it once per tab.
async function getJSON(url, retried = false) {
  const headers = { Accept: "application/json" };
  const key = sessionStorage.getItem(KEY_STORE);
  if (key) headers.Authorization = `Bearer ${key}`;
  const response = await fetch(url, { headers });
  if (response.status === 401 && !retried) {
    const entered = window.prompt("This service needs an API key:");
    if (entered) {
      sessionStorage.setItem(KEY_STORE, entered.trim());
      return getJSON(url, true);
    }
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const message = body && body.error ? body.error.message : `the service answered ${response.status}`;
    throw new Error(message);
  }
  return body;
}

// Sections with passages, and parents such as "3" whose subsections have them.
async function loadSections() {
  const { sections } = await getJSON("sections");
  for (const section of sections) {
    const isParent = section.number !== null &&
      sections.some((other) => other.number && other.number.startsWith(section.number + "."));
    if (section.passage_count === 0 && !isParent) continue;
    const option = element("option");
    option.value = section.number || section.title;
    option.textContent = section.number ? `${section.number} ${section.title}` : section.title;
    sectionSelect.append(option);
  }
}

// Highlight offsets count code points (they come from Python), so slice by code point.
function passageText(text, highlights) {
  const chars = Array.from(text);
  const paragraph = element("p", "passage");
  let at = 0;
  for (const { start, end } of [...highlights].sort((a, b) => a.start - b.start)) {
    if (start < at) continue;
    paragraph.append(chars.slice(at, start).join(""));
    paragraph.append(element("mark", null, chars.slice(start, end).join("")));
    at = end;
  }
  paragraph.append(chars.slice(at).join(""));
  return paragraph;
}

function resultItem(result) {
  const item = element("li", "result");
  item.tabIndex = 0;
  item.dataset.id = result.id;

  const head = element("div", "result-head");
  head.append(element("span", "rank", `#${result.rank}`));
  head.append(element("span", "meta", `passage ${result.id} · score ${result.score.toFixed(3)}`));
  const path = element("div", "section-path");
  result.section.path.forEach((part, i) => {
    if (i > 0) path.append(element("span", "separator", " › "));
    path.append(element("span", "section-part", part));
  });
  item.append(head, path);

  item.append(passageText(result.text, result.highlights));

  if (result.references.length > 0) {
    const citations = element("ul", "citations");
    citations.setAttribute("aria-label", "Citations");
    for (const reference of result.references) {
      const line = element("li");
      line.append(element("span", "marker", reference.marker), " ", reference.citation);
      citations.append(line);
    }
    item.append(citations);
  }
  item.setAttribute("aria-label", `Passage ${result.rank}: ${result.section.path.at(-1)}`);
  return item;
}

function showVerdict(body) {
  verdict.hidden = false;
  verdict.className = body.in_scope ? "verdict in-scope" : "verdict out-of-scope";
  verdict.replaceChildren(
    element("strong", null, body.in_scope ? "Answered by the article" : "Not covered by the article"),
    element("span", null, ` — ${body.reason.replace(/\.$/, "")}.`),
  );
}

let latest = 0; // only the newest search may draw, whatever order the answers arrive in

async function search({ push = true } = {}) {
  const text = question.value.trim();
  if (!text) {
    question.focus();
    return;
  }
  const params = new URLSearchParams({ q: text, top_k: topK.value });
  if (sectionSelect.value) params.append("sections", sectionSelect.value);
  if (push) history.pushState(null, "", `?${params}`);
  const mine = ++latest;
  form.setAttribute("aria-busy", "true");
  statusLine.textContent = "Searching…";
  try {
    const body = await getJSON(`query?${params}`);
    if (mine !== latest) return;
    showVerdict(body);
    results.replaceChildren(...body.results.map(resultItem));
    const count = body.results.length;
    statusLine.textContent = `${count} passage${count === 1 ? "" : "s"}, best first (${body.took_ms.toFixed(0)} ms)`;
  } catch (error) {
    if (mine !== latest) return;
    verdict.hidden = true;
    results.replaceChildren();
    statusLine.textContent = `Could not search: ${error.message}`;
  } finally {
    if (mine === latest) form.removeAttribute("aria-busy");
  }
}

function fromAddress() {
  const params = new URLSearchParams(location.search);
  question.value = params.get("q") || "";
  sectionSelect.value = params.get("sections") || "";
  if (params.get("top_k")) topK.value = params.get("top_k");
  if (question.value) search({ push: false });
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});

// A new filter applies at once (Enter on a select does not submit a form).
for (const select of [sectionSelect, topK]) {
  select.addEventListener("change", () => {
    if (question.value.trim()) search();
  });
}

question.addEventListener("keydown", (event) => {
  if (event.key === "Escape") question.value = "";
  if (event.key === "ArrowDown" && results.firstElementChild) {
    event.preventDefault();
    results.firstElementChild.focus();
  }
});

results.addEventListener("keydown", (event) => {
  const item = event.target.closest(".result");
  if (!item) return;
  const next = { ArrowDown: item.nextElementSibling, j: item.nextElementSibling,
                 ArrowUp: item.previousElementSibling, k: item.previousElementSibling }[event.key];
  if (next !== undefined) {
    event.preventDefault();
    (next || (event.key === "ArrowUp" || event.key === "k" ? question : item)).focus();
  }
});

document.addEventListener("keydown", (event) => {
  const typing = event.target.closest("input, select, textarea");
  if (event.key === "/" && !typing) {
    event.preventDefault();
    question.focus();
    question.select();
  }
});

window.addEventListener("popstate", fromAddress);

loadSections()
  .catch((error) => { statusLine.textContent = `Sections unavailable: ${error.message}`; })
  .finally(fromAddress);
