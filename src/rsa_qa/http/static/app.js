// The search page: asks GET /documents, GET /sections and GET /query, and draws the answer with
// DOM calls only (never innerHTML), so nothing in a passage, a title or a question can become markup.
"use strict";

const form = document.getElementById("search");
const question = document.getElementById("q");
const sectionSelect = document.getElementById("section");
const topK = document.getElementById("top-k");
const corpus = document.getElementById("corpus");
const notice = document.getElementById("notice");
const statusLine = document.getElementById("status");
const verdict = document.getElementById("verdict");
const results = document.getElementById("results");

const DEFAULT_TOP_K = topK.value;
let corpusName = "the articles"; // "the article" when the index holds one
let sectionsKnown = false; // false until /sections has answered: then unknown sections can be told

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
    // Several requests start together; the first refused one asks, the others use its answer.
    const stored = sessionStorage.getItem(KEY_STORE);
    if (stored && stored !== key) return getJSON(url, true);
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

function authorList(authors) {
  if (authors.length === 0) return "";
  if (authors.length === 1) return authors[0];
  if (authors.length === 2) return `${authors[0]} & ${authors[1]}`;
  return `${authors[0]} et al.`;
}

function citeArticle(doc) {
  const line = [element("cite", null, doc.title)];
  const authors = authorList(doc.authors || []);
  if (authors) line.push(` (${authors})`);
  return line;
}

// The header names what the index holds: one article, or how many and which.
async function loadDocuments() {
  const { documents } = await getJSON("documents");
  if (documents.length === 0) return;
  const intro = element("p");
  if (documents.length === 1) {
    corpusName = "the article";
    intro.append("Verbatim passages, with their citations, from ", ...citeArticle(documents[0]),
      ". Nothing is generated: every sentence below is the article's own.");
    corpus.replaceChildren(intro);
    return;
  }
  corpusName = "the articles";
  const count = element("strong", "article-count", `${documents.length} articles`);
  intro.append("Verbatim passages, with their citations, from ", count,
    ". Nothing is generated: every sentence below is the articles' own.");
  const list = element("ul", "articles");
  list.setAttribute("aria-label", "Articles in the index");
  for (const doc of documents) {
    const item = element("li");
    item.append(...citeArticle(doc));
    list.append(item);
  }
  corpus.replaceChildren(intro, list);
}

// Sections with passages, and parents such as "3" whose subsections have them; a section
// several articles share ("Abstract") is one choice, as the filter takes them all.
async function loadSections() {
  const { sections } = await getJSON("sections");
  const listed = new Set([""]);
  for (const section of sections) {
    const isParent = section.number !== null &&
      sections.some((other) => other.number && other.number.startsWith(section.number + "."));
    if (section.passage_count === 0 && !isParent) continue;
    const value = section.number || section.title;
    if (listed.has(value)) continue;
    listed.add(value);
    const option = element("option");
    option.value = value;
    option.textContent = section.number ? `${section.number} ${section.title}` : section.title;
    sectionSelect.append(option);
  }
  sectionsKnown = true;
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

// A passage of an off-topic answer is shown dimmed and unmarked: it is the nearest text, not an answer.
function resultItem(result, offTopic) {
  const item = element("li", offTopic ? "result off-topic" : "result");
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

  item.append(passageText(result.text, offTopic ? [] : result.highlights));

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
  const label = `Passage ${result.rank}: ${result.section.path.at(-1)}`;
  item.setAttribute("aria-label", offTopic ? `${label} (nearest text, not an answer)` : label);
  return item;
}

// within: the section filter's label ("section 3.4", "Abstract"), or "" for all sections.
function showVerdict(body, within) {
  verdict.hidden = false;
  verdict.className = body.in_scope ? "verdict in-scope" : "verdict out-of-scope";
  const where = within ? ` within ${within}` : "";
  verdict.replaceChildren(
    element("strong", null, `${body.in_scope ? "Answered by" : "Not covered by"} ${corpusName}${where}`),
    element("span", null, ` — ${body.reason.replace(/\.$/, "")}.`),
  );
}

function showNotice(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

let latest = 0; // only the newest search may draw, whatever order the answers arrive in

function clearAnswer() {
  latest += 1; // an answer still on its way is dropped
  form.removeAttribute("aria-busy");
  verdict.hidden = true;
  verdict.replaceChildren();
  results.replaceChildren();
  statusLine.textContent = "";
}

// The address holds the search, so that it can be shared, reloaded and gone back to.
// record: "push" for a search the user ran; "filter" for a changed filter, which adds one entry
// and replaces it while the filters keep changing (arrow keys on a select change it per key);
// "none" when the search comes from the address itself (opening a link, back or forward).
function record(params, how) {
  if (how === "none") return;
  const address = `?${params}`;
  const state = { by: how };
  const keep = location.search === address || (how === "filter" && history.state && history.state.by === "filter");
  if (keep) history.replaceState(state, "", address);
  else history.pushState(state, "", address);
}

function sectionLabel() {
  if (!sectionSelect.value) return "";
  return /^\d/.test(sectionSelect.value) ? `section ${sectionSelect.value}` : sectionSelect.value;
}

async function search({ how = "push" } = {}) {
  const text = question.value.trim();
  if (!text) {
    question.focus();
    return;
  }
  showNotice("");
  const params = new URLSearchParams({ q: text, top_k: topK.value });
  if (sectionSelect.value) params.append("sections", sectionSelect.value);
  record(params, how);
  const within = sectionLabel();
  const mine = ++latest;
  form.setAttribute("aria-busy", "true");
  statusLine.textContent = "Searching…";
  try {
    const body = await getJSON(`query?${params}`);
    if (mine !== latest) return;
    showVerdict(body, within);
    results.replaceChildren(...body.results.map((result) => resultItem(result, !body.in_scope)));
    const count = body.results.length;
    const nearest = body.in_scope ? "best first" : "the nearest, best first";
    statusLine.textContent = `${count} passage${count === 1 ? "" : "s"}, ${nearest} (${body.took_ms.toFixed(0)} ms)`;
  } catch (error) {
    if (mine !== latest) return;
    verdict.hidden = true;
    results.replaceChildren();
    statusLine.textContent = `Could not search: ${error.message}`;
  } finally {
    if (mine === latest) form.removeAttribute("aria-busy");
  }
}

// Esc: an empty box, no answer on screen, and an address without the search.
function clearSearch() {
  question.value = "";
  clearAnswer();
  showNotice("");
  if (location.search) history.pushState({ by: "clear" }, "", location.pathname);
}

function chooseSection(wanted) {
  if (!wanted) {
    sectionSelect.value = "";
    return true;
  }
  const options = [...sectionSelect.options];
  const option = options.find((o) => o.value === wanted) ||
    options.find((o) => o.value.toLowerCase() === wanted.toLowerCase());
  if (option) {
    sectionSelect.value = option.value;
    return true;
  }
  if (!sectionsKnown) {
    // The list could not be loaded: pass the section on, and the service says if it is wrong.
    const added = element("option", null, wanted);
    added.value = wanted;
    sectionSelect.append(added);
    sectionSelect.value = wanted;
    return true;
  }
  sectionSelect.value = "";
  return false;
}

function chooseTopK(wanted) {
  const value = /^\d{1,2}$/.test(wanted || "") ? String(Number(wanted)) : DEFAULT_TOP_K;
  if (![...topK.options].some((o) => o.value === value)) {
    topK.append(element("option", null, value));
  }
  topK.value = value;
}

// Opening a link, or going back or forward: the fields and the answer follow the address.
function fromAddress({ opening = false } = {}) {
  const params = new URLSearchParams(location.search);
  question.value = params.get("q") || "";
  chooseTopK(params.get("top_k"));
  const wanted = (params.get("sections") || "").trim();
  if (!chooseSection(wanted)) {
    if (!opening) clearAnswer();
    showNotice(`There is no section “${wanted}” in the index, so nothing was searched. ` +
      "Choose one from the Section list, or press Enter to search all sections.");
    return;
  }
  showNotice("");
  if (question.value.trim()) search({ how: "none" });
  else if (!opening) clearAnswer(); // on opening there is no answer yet, only load errors to keep
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});

// A new filter applies at once (Enter on a select does not submit a form).
for (const select of [sectionSelect, topK]) {
  select.addEventListener("change", () => {
    if (question.value.trim()) search({ how: "filter" });
  });
}

question.addEventListener("keydown", (event) => {
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

// Where a key types text: there "/" is a character, elsewhere it is the shortcut to the box.
function typesText(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable || target.closest("textarea")) return true;
  const input = target.closest("input");
  return input !== null && !["button", "checkbox", "radio", "submit", "reset", "range", "color"].includes(input.type);
}

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "/" && !typesText(event.target)) {
    event.preventDefault();
    question.focus();
    question.select();
  } else if (event.key === "Escape" && !(event.target instanceof HTMLSelectElement)) {
    // A select keeps Esc for closing its list.
    event.preventDefault();
    clearSearch();
    question.focus();
  }
});

window.addEventListener("popstate", () => fromAddress());

Promise.all([
  loadDocuments().catch((error) => { statusLine.textContent = `Articles unavailable: ${error.message}`; }),
  loadSections().catch((error) => { statusLine.textContent = `Sections unavailable: ${error.message}`; }),
]).finally(() => fromAddress({ opening: true }));
