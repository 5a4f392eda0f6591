/* The disclosure portal's behaviour, hand-written, no framework.

   Everything shown comes from the public GraphQL API (POST /graphql) at one moment: the
   answer's `position`. Later reads (a subject's detail, the disclosures, the downloads) are
   pinned to that same position, so the page never mixes two states of the ledger.
   The verify panel reads /portal/info.json, the one thing GraphQL does not offer; so do the
   grades' codes and words (ledger/grades.py), which the page does not keep a copy of. */
"use strict";

(function () {
  const STRINGS = window.PORTAL_I18N;
  const STORE = { lang: "jixiao.portal.lang", token: "jixiao.portal.token" };
  const TABLES = [
    { kind: "KEY_PROJECTS", alias: "key", file: "key-projects" },
    { kind: "DEPARTMENT_OVERALL", alias: "dept", file: "department-overall" },
  ];
  const FORMATS = ["xlsx", "pdf", "csv", "fdp"];
  const COVERAGE_FORMATS = ["xlsx", "pdf", "csv"];
  const AUDIENCES = ["PUBLIC", "PEOPLES_CONGRESS", "STANDING_COMMITTEE"];
  // Table columns, the restatement field each shows, and how each sorts.
  const COLUMNS = {
    seq: { field: null, value: (r) => r.seq },
    name: { field: "subject_name", value: (r) => r.subjectName },
    unit: { field: "unit_name", value: (r) => r.unitName },
    funds: { field: "funds", value: (r) => Number(r.funds) },
    assessment: { field: "assessment", value: null },
    grade: { field: "grade", value: (r) => gradeRank(r.grade) },
  };

  const TABLE_FIELDS = "title totalFunds rows { seq subjectId subjectName unitName funds " +
    "assessment grade gradeLabel }";
  const RESULTS_FIELDS = "fiscalYear rows { subjectCode subjectName basisKind basisPosition " +
    "basisGradeLabel ruleVersion ruleWording effect effectLabel amount percentage " +
    "targetFiscalYear targetKind targetId overrideReason remarks resultId } reducedTotal recoveredTotal " +
    "priorityCount overriddenCount requests { code subjectCode projectName requestedAmount " +
    "priority reducedAmount afterConsequences arrangedAmount } requestedTotal arrangedTotal " +
    "transfers { code programme }";
  const CHANGE_FIELDS = "subjectId subjectName field before after " +
    "corrections { position recordedAt changes }";
  const MAIN_QUERY = `query Portal($asOf: DateTime, $past: Boolean!, $year: Int!) {
  then: ledger(asOf: $asOf) {
    position recordedAt
    key: evaluationTable(fiscalYear: $year, table: KEY_PROJECTS) { ${TABLE_FIELDS} }
    dept: evaluationTable(fiscalYear: $year, table: DEPARTMENT_OVERALL) { ${TABLE_FIELDS} }
    coverage(fiscalYear: $year) { units subjects funds subjectsWithApprovedGoals
      monitoringRounds { roundName subjects } projectSelfEvaluationCoverage
      departmentSelfEvaluationCoverage spotCheckedSubjects
      gradeDistribution { grade count } statements }
    results: resultsLedger(fiscalYear: $year) { ${RESULTS_FIELDS} }
    subjects(fiscalYear: $year, first: 200) { edges { node { id code } }
      pageInfo { hasNextPage endCursor } }
  }
  now: ledger @include(if: $past) {
    position recordedAt
    key: evaluationTable(fiscalYear: $year, table: KEY_PROJECTS) { totalFunds }
    dept: evaluationTable(fiscalYear: $year, table: DEPARTMENT_OVERALL) { totalFunds }
    keyChanges: restatements(fiscalYear: $year, table: KEY_PROJECTS, since: $asOf) { ${CHANGE_FIELDS} }
    deptChanges: restatements(fiscalYear: $year, table: DEPARTMENT_OVERALL, since: $asOf) { ${CHANGE_FIELDS} }
  }
}`;
  const CODES_QUERY = `query Codes($p: Int!, $year: Int!, $after: String) {
  ledger(position: $p) { subjects(fiscalYear: $year, first: 200, after: $after) {
    edges { node { id code } } pageInfo { hasNextPage endCursor } } } }`;
  const DISCLOSURE_QUERY = `query Disclosure($p: Int!, $year: Int!, $audience: Audience!) {
  ledger(position: $p) { disclosure(fiscalYear: $year, audience: $audience) {
    disclosures { id title position recordedAt contentHash subjectCodes checkpoint }
    subjects { code name } } } }`;
  const MONITORING_FIELDS = "monitoring { id roundId roundName windowStart windowEnd budgetAmount " +
    "executedAmount executionRate reportedOn indicators { name progress likelihood " +
    "deviationCause correctiveMeasures } warnings { code indicator message } } " +
    "warningActions { snapshotId warningIndex label amount remarks actedOn }";
  const DETAIL_QUERY = `query Detail($p: Int!, $code: String!) {
  ledger(position: $p) { subject(code: $code) {
    code name kind unitName funds tags goalStatus grade score
    goals { level1 level2 name comparator target unit weight libraryCode }
    goalTable { status revision overallGoal
      fundsBySource { currentAppropriation carriedOver other total }
      history { action revision text actorRole effectiveOn } }
    ${MONITORING_FIELDS}
    evaluations { kind score publishedGrade evaluatedOn findings narrative
      framework { code version } }
    spotChecks { reviews score reviewedScore difference findings planId reviewedOn
      indicators { name score reviewedScore difference remarks } }
    selfEvaluations { version status score ruleVersion rule submittedOn reviewedOn
      reviewReasons initialBudget fullYearBudget executed executionRate
      budgetLines { source initialBudget fullYearBudget executed }
      indicators { level1 level2 name comparator target unit actual band points score
        deviationReason }
      totals { name points score } }
    consequences { id kind amount percentage remarks }
    rectifications { items deadline status }
    corrections { event values reason }
    auditTrail(first: 200) { edges { node { position recordedAt type effectiveOn changes
      correctsPosition } }
      pageInfo { hasNextPage } } } } }`;

  const state = {
    lang: "zh",
    year: null,
    audience: "PUBLIC",
    asOf: null, // an ISO time with offset, or null for now
    tz: "+08:00",
    token: null,
    info: null,
    data: null,
    sort: { key: { key: "seq", dir: 1 }, dept: { key: "seq", dir: 1 } },
    codes: new Map(),
    codesCursor: null, // set while more subject codes remain to be paged in
    loads: 0,
    opener: null,
  };
  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- words and elements

  function t(key, vars) {
    const table = STRINGS[state.lang] || STRINGS.zh;
    let text = key in table ? table[key] : STRINGS.zh[key] || key;
    for (const [name, value] of Object.entries(vars || {})) {
      text = text.split(`{${name}}`).join(String(value));
    }
    return text;
  }

  /* h("td", {class: "num"}, "text", child): a DOM node; strings become text, never HTML. */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    return node;
  }

  /* A horizontal bar, purely decorative: the numbers beside it say the same in words. */
  function bar(percent, fillClass) {
    const width = Math.max(0, Math.min(100, percent));
    const node = svg("svg", { class: "bar", viewBox: "0 0 100 10", preserveAspectRatio: "none",
      "aria-hidden": "true", focusable: "false" });
    node.append(svg("rect", { class: "track", width: "100", height: "10" }));
    node.append(svg("rect", { class: `fill ${fillClass || ""}`, width: String(width), height: "10" }));
    return node;
  }

  /* The grades, best first, as /portal/info.json gives them: { code, label, labelEn }. */
  function grades() {
    return (state.info && state.info.grades) || [];
  }

  /* A grade's place on the scale, best first (0); no grade sorts last. */
  function gradeRank(code) {
    const rank = grades().findIndex((g) => g.code === code);
    return rank < 0 ? grades().length : rank;
  }

  function gradeLabel(code) {
    const found = grades().find((g) => g.code === code);
    if (!found) return code || t("grade.none");
    return state.lang === "en" ? found.labelEn : found.label;
  }

  function percentOf(count, total) {
    return total ? ((100 * count) / total).toFixed(1).replace(/\.0$/, "") : "0";
  }

  function plainNumber(decimal) {
    return String(Number(decimal));
  }

  // ---------------------------------------------------------------- time

  function offsetMinutes(offset) {
    const m = /^([+-])(\d{2}):(\d{2})$/.exec(offset);
    if (!m) return 0;
    return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  }

  function offsetText(minutes) {
    const sign = minutes < 0 ? "-" : "+";
    const abs = Math.abs(minutes);
    return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  }

  /* An instant shown in the chosen zone: 2022-09-30 18:00:00 +08:00. */
  function formatTime(iso) {
    if (!iso) return "—";
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) return iso;
    const shifted = new Date(ms + offsetMinutes(state.tz) * 60000);
    const p = (n) => String(n).padStart(2, "0");
    return `${shifted.getUTCFullYear()}-${p(shifted.getUTCMonth() + 1)}-${p(shifted.getUTCDate())} ` +
      `${p(shifted.getUTCHours())}:${p(shifted.getUTCMinutes())}:${p(shifted.getUTCSeconds())} ${state.tz}`;
  }

  /* A shared link's asOf, kept exact (fractions of a second included) for the query; the
     input shows it to the second, as datetime-local can. */
  function parseAsOf(text) {
    const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/.exec(text || "");
    if (!m) return null;
    const tz = m[3] === "Z" ? "+00:00" : m[3];
    const local = m[1].length === 16 ? `${m[1]}:00` : m[1];
    return { local, tz, exact: `${local}${m[2] || ""}${tz}` };
  }

  function composeAsOf(local, tz) {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(local)) return null;
    return (local.length === 16 ? `${local}:00` : local) + tz;
  }

  function ensureTzOption(offset) {
    const select = $("tz");
    if ([...select.options].some((o) => o.value === offset)) return;
    const local = offsetText(-new Date().getTimezoneOffset());
    const option = h("option", { value: offset, "data-tz": offset === local ? "local" : "other" });
    select.append(option);
    labelTzOptions();
  }

  function labelTzOptions() {
    for (const option of $("tz").options) {
      if (option.dataset.tz) {
        option.textContent = t(`tz.${option.dataset.tz}`, { offset: option.value });
      }
    }
  }

  // ---------------------------------------------------------------- talking to the server

  async function gql(query, variables) {
    const body = JSON.stringify({ query, variables });
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    let response = await fetch("/graphql", { method: "POST", headers, body });
    if (state.token && (response.status === 401 || response.status === 403)) {
      // A refused token must not leave the visitor with nothing: fall back to public.
      showError(t("token.refused", { status: response.status }));
      delete headers.Authorization;
      response = await fetch("/graphql", { method: "POST", headers, body });
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const answer = await response.json();
    if (answer.errors && answer.errors.length) {
      throw new Error(answer.errors.map((e) => e.message).join("; "));
    }
    return answer.data;
  }

  async function fetchInfo() {
    const response = await fetch("/portal/info.json", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return response.json();
  }

  // ---------------------------------------------------------------- loading

  function showError(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = !message;
  }

  function setBusy(busy) {
    $("annexes").setAttribute("aria-busy", busy ? "true" : "false");
  }

  async function load() {
    const ticket = ++state.loads;
    setBusy(true);
    showError("");
    $("status").textContent = t("status.loading");
    try {
      const past = state.asOf !== null;
      const [data, info] = await Promise.all([
        gql(MAIN_QUERY, { asOf: state.asOf, past, year: state.year }),
        fetchInfo(),
      ]);
      if (ticket !== state.loads) return; // a newer request replaced this one
      state.data = data;
      state.info = info;
      const page = data.then.subjects;
      state.codes = new Map(page.edges.map((e) => [e.node.id, e.node.code]));
      state.codesCursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      render();
      loadDisclosure();
    } catch (error) {
      if (ticket === state.loads) {
        $("status").textContent = "";
        showError(t("error.load", { message: error.message }));
      }
    } finally {
      if (ticket === state.loads) setBusy(false);
    }
    updateUrl();
  }

  // Only the newest request of a kind renders: a slow answer for an audience, a subject or a
  // moment the reader has since left must not replace what they chose, under its heading.
  const latest = {};
  function ticket(kind) {
    const mine = (latest[kind] = (latest[kind] || 0) + 1);
    const loads = state.loads;
    return () => mine === latest[kind] && loads === state.loads;
  }

  async function loadDisclosure() {
    const data = state.data;
    if (!data) return;
    const newest = ticket("disclosure");
    try {
      const found = await gql(DISCLOSURE_QUERY,
        { p: data.then.position, year: state.year, audience: state.audience });
      if (newest()) renderDisclosure(found.ledger.disclosure, null);
    } catch (error) {
      if (newest()) renderDisclosure(null, error.message);
    }
  }

  async function codeFor(subjectId) {
    while (!state.codes.has(subjectId) && state.codesCursor) {
      const found = await gql(CODES_QUERY,
        { p: state.data.then.position, year: state.year, after: state.codesCursor });
      const page = found.ledger.subjects;
      for (const e of page.edges) state.codes.set(e.node.id, e.node.code);
      state.codesCursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    }
    return state.codes.get(subjectId);
  }

  function updateUrl() {
    const params = new URLSearchParams();
    if (state.year) params.set("year", state.year);
    if (state.asOf) params.set("asOf", state.asOf);
    const query = params.toString();
    history.replaceState(null, "", query ? `?${query}` : location.pathname);
  }

  // ---------------------------------------------------------------- rendering

  function render() {
    if (!state.data) return;
    renderStatus();
    for (const table of TABLES) renderAnnex(table);
    renderGrades();
    renderCoverage();
    renderReviewDownloads();
    renderResults();
    renderVerify();
  }

  function renderStatus() {
    const { then, now } = state.data;
    const status = $("status");
    if (now) {
      status.textContent = t("status.past", { asOf: state.asOf.replace("T", " "),
        position: then.position, time: formatTime(then.recordedAt), nowPosition: now.position });
      status.classList.add("past");
    } else {
      status.textContent = t("status.now", { position: then.position,
        time: formatTime(then.recordedAt) });
      status.classList.remove("past");
    }
  }

  function checkpointFor(position) {
    const cp = state.info && state.info.checkpoint;
    return cp && cp.lastPosition >= position ? cp : null;
  }

  function changesOf(alias) {
    const now = state.data.now;
    return now ? now[`${alias}Changes`] : [];
  }

  function reasonOf(change) {
    if (!change.corrections.length) return t("changed.later");
    return change.corrections.map((c) => t("changed.reason", {
      reason: (c.changes && c.changes.reason) || "—",
      time: formatTime(c.recordedAt), position: c.position })).join(" ");
  }

  /* Mark a cell whose value differs now: a visible tag, a hover title, and words for
     screen readers (a title alone is not reliably read). */
  function markChanged(cell, change) {
    const text = change.after === null
      ? t("changed.removed", { reason: reasonOf(change) })
      : t("changed.cell", { after: change.after, reason: reasonOf(change) });
    cell.classList.add("changed");
    cell.title = text;
    cell.append(h("span", { class: "mark", "aria-hidden": "true",
      text: change.corrections.length ? t("changed.mark") : t("changed.markLater") }));
    if (change.after !== null && (change.field === "funds" || change.field === "grade")) {
      const after = change.field === "grade" ? gradeLabel(gradeCode(change.after)) : change.after;
      cell.append(h("span", { class: "was", "aria-hidden": "true", text: t("changed.total", { after }) }));
    }
    cell.append(h("span", { class: "sr-only", text: ` ${text}` }));
  }

  /* Restatements give grades as their labels (优); the page's words are keyed by code. */
  function gradeCode(label) {
    const found = grades().find((g) => g.label === label);
    return found ? found.code : null;
  }

  function annexSection(table) {
    if (table.section) return table.section;
    const section = $("annex-template").content.firstElementChild.cloneNode(true);
    const titleId = `annex-${table.alias}-title`;
    section.id = `annex-${table.alias}`;
    section.setAttribute("aria-labelledby", titleId);
    section.querySelector(".annex-title").id = titleId;
    section.querySelector("table").setAttribute("aria-labelledby", titleId);
    section.querySelector(".changes h3").id = `annex-${table.alias}-changes`;
    for (const th of section.querySelectorAll("th[data-key]")) {
      th.querySelector("button").addEventListener("click", () => sortBy(table, th.dataset.key));
    }
    section.querySelector("tbody").addEventListener("click", (event) => {
      const row = event.target.closest("tr");
      if (!row || event.target.closest("a")) return;
      const opener = row.querySelector("button.open");
      if (opener) openDetail(row.dataset.subject, opener);
    });
    $("annexes").append(section);
    table.section = section;
    applyWords(section);
    return section;
  }

  function sortBy(table, key) {
    const current = state.sort[table.alias];
    state.sort[table.alias] = { key, dir: current.key === key ? -current.dir : 1 };
    renderAnnex(table);
    table.section.querySelector(`th[data-key="${key}"] button`).focus();
  }

  function sortedRows(rows, sort) {
    const value = COLUMNS[sort.key].value;
    return [...rows].sort((a, b) => {
      const x = value(a);
      const y = value(b);
      let order = typeof x === "string" ? x.localeCompare(y, "zh-CN") : x - y;
      if (order === 0) order = a.seq - b.seq;
      return sort.dir * order;
    });
  }

  function renderAnnex(table) {
    const section = annexSection(table);
    const { then, now } = state.data;
    const data = then[table.alias];
    const sort = state.sort[table.alias];
    const changes = changesOf(table.alias);
    const byCell = new Map(changes.map((c) => [`${c.subjectId}|${c.field}`, c]));

    section.querySelector(".annex-no").textContent = t(`annex.${table.kind}`);
    const name = section.querySelector(".annex-name");
    name.textContent = data.title;
    name.lang = "zh-CN";
    section.querySelector(".table-scroll").setAttribute("aria-label",
      t("annex.scrollLabel", { title: data.title }));

    for (const th of section.querySelectorAll("th[data-key]")) {
      if (th.dataset.key === sort.key) {
        th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
      } else {
        th.removeAttribute("aria-sort");
      }
      th.querySelector("button").title = t("sort.hint");
    }

    const body = section.querySelector("tbody");
    body.replaceChildren();
    if (!data.rows.length) {
      body.append(h("tr", {}, h("td", { colspan: "6", class: "empty", text: t("annex.empty") })));
    }
    for (const row of sortedRows(data.rows, sort)) {
      const cells = {
        seq: h("td", { text: row.seq }),
        name: h("td", {}, h("button", { type: "button", class: "open", "aria-haspopup": "dialog",
          text: row.subjectName })),
        unit: h("td", { text: row.unitName }),
        funds: h("td", { class: "num", text: row.funds }),
        assessment: h("td", {}, h("span", { class: "assessment", text: row.assessment })),
        grade: h("td", {}, row.grade
          ? h("span", { class: `grade rank-${gradeRank(row.grade)}`, text: gradeLabel(row.grade) })
          : t("grade.none")),
      };
      for (const [key, column] of Object.entries(COLUMNS)) {
        const change = column.field && byCell.get(`${row.subjectId}|${column.field}`);
        if (change) markChanged(cells[key], change);
      }
      body.append(h("tr", { "data-subject": row.subjectId, "data-seq": row.seq },
        Object.values(cells)));
    }

    const total = section.querySelector("td.total");
    total.replaceChildren(data.totalFunds);
    total.classList.remove("changed");
    total.removeAttribute("title");
    const nowTotal = now && now[table.alias].totalFunds;
    if (nowTotal && nowTotal !== data.totalFunds) {
      const text = t("changed.total", { after: nowTotal });
      total.classList.add("changed");
      total.title = text;
      total.append(h("span", { class: "was", text }));
    }

    renderChanges(section, changes);
    renderDownloads(section.querySelector(".downloads"), table.file, data.title, FORMATS);
  }

  function renderChanges(section, changes) {
    const box = section.querySelector(".changes");
    box.hidden = !state.data.now;
    const list = box.querySelector("ul");
    list.replaceChildren();
    if (!changes.length) list.append(h("li", { text: t("changes.none") }));
    for (const c of changes) {
      const item = t("changes.item", { name: c.subjectName, field: t(`field.${c.field}`),
        before: c.before === null ? t("changed.empty") : c.before,
        after: c.after === null ? t("changed.empty") : c.after, reason: reasonOf(c) });
      list.append(h("li", {}, item, c.before === null ? ` ${t("changes.added")}` : null));
    }
  }

  function renderDownloads(box, file, title, formats) {
    const position = state.data.then.position;
    const cp = checkpointFor(position);
    const cpText = cp ? t("downloads.checkpoint", { size: cp.size }) : t("downloads.noCheckpoint");
    const label = { coverage: "downloads.coverage", review: "downloads.review",
      "results-ledger": "downloads.results" }[file] || "downloads.heading";
    box.replaceChildren(h("span", { class: "downloads-label", text: t(label) }));
    for (const format of formats) {
      const href = `/exports/${state.year}/${file}.${format}?position=${position}`;
      box.append(h("a", { class: "download", href, download: "", "data-format": format },
        h("span", { class: "sr-only", text: `${title} ` }),
        h("span", { class: "format", text: format.toUpperCase() }),
        h("span", { class: "state", text: t("downloads.state", { position, checkpoint: cpText }) })));
    }
  }

  function barItem(label, value, percent, fillClass) {
    return h("li", {}, h("span", { text: label }), h("span", { class: "value", text: value }),
      bar(percent, fillClass));
  }

  function renderGrades() {
    const list = $("grade-bars");
    const counts = state.data.then.coverage.gradeDistribution;
    const total = counts.reduce((sum, g) => sum + g.count, 0);
    list.replaceChildren();
    if (!total) {
      list.append(h("li", { class: "empty", text: t("grades.none") }));
      return;
    }
    for (const g of counts) {
      const percent = percentOf(g.count, total);
      list.append(barItem(gradeLabel(g.grade), t("grades.value", { count: g.count, percent }),
        Number(percent), `rank-${gradeRank(g.grade)}`));
    }
  }

  function renderCoverage() {
    const c = state.data.then.coverage;
    const figures = $("coverage-figures");
    figures.replaceChildren(
      ...[["coverage.units", c.units], ["coverage.subjects", c.subjects],
        ["coverage.funds", c.funds]].map(([key, value]) =>
        h("div", {}, h("dt", { text: t(key) }), h("dd", { text: value }))));
    const count = (n) => t("coverage.count", { count: n, total: c.subjects,
      percent: percentOf(n, c.subjects) });
    const bars = [
      [t("coverage.goals"), count(c.subjectsWithApprovedGoals),
        Number(percentOf(c.subjectsWithApprovedGoals, c.subjects))],
      ...c.monitoringRounds.map((r) => [t("coverage.monitoring", { round: r.roundName }),
        count(r.subjects), Number(percentOf(r.subjects, c.subjects))]),
      [t("coverage.projectSelf"), `${plainNumber(c.projectSelfEvaluationCoverage)}%`,
        Number(c.projectSelfEvaluationCoverage)],
      [t("coverage.departmentSelf"), `${plainNumber(c.departmentSelfEvaluationCoverage)}%`,
        Number(c.departmentSelfEvaluationCoverage)],
      [t("coverage.spotChecked"), count(c.spotCheckedSubjects),
        Number(percentOf(c.spotCheckedSubjects, c.subjects))],
    ];
    $("coverage-bars").replaceChildren(...bars.map(([label, value, percent]) =>
      barItem(label, value, percent)));
    $("coverage-statements").replaceChildren(...c.statements.map((s) => h("li", { text: s })));
    renderDownloads($("coverage-downloads"), "coverage", t("coverage.heading"), COVERAGE_FORMATS);
  }

  // 复评结果: the review result table, as the bureau publishes it on its portal.
  function renderReviewDownloads() {
    renderDownloads($("review-downloads"), "review", t("downloads.review"), COVERAGE_FORMATS);
  }

  /* A word for a value the server names by code (results.basis.grade → 等级), or the code. */
  function wordFor(prefix, value) {
    const key = `${prefix}.${value}`;
    const text = t(key);
    return text === key ? value : text;
  }

  /* A table: headers from `prefix.col.<key>`; a cell is text, or a list of nodes and text
     (strings always become text nodes, never markup); amount columns right-aligned. */
  function dataTable(prefix, label, columns, rows, foot) {
    const cls = (c) => [`col-${c.key}`, c.num ? "num" : null].filter(Boolean).join(" ");
    return h("div", { class: "table-scroll", role: "region", tabindex: "0",
      "aria-label": t("annex.scrollLabel", { title: label }) },
    h("table", { class: "annex-table data-table" },
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: cls(c),
        text: t(`${prefix}.col.${c.key}`) })))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map((c, i) =>
        h("td", { class: cls(c), lang: c.zh ? "zh-CN" : null }, row[i]))))),
      foot ? h("tfoot", {}, foot) : null));
  }

  /* Text that must not break inside (a code, "等级 优"); the page breaks between pieces. */
  function keep(text) {
    return h("span", { class: "nowrap", text });
  }

  function between(pieces, separator) {
    return pieces.flatMap((piece, index) => (index ? [separator, piece] : [piece]));
  }

  /* One vocabulary for a consequence's effect, wherever the page names one (the results
     ledger, the detail dialog, its history): in Chinese the server's label (effectLabel, the
     consequence rules' words in ledger/consequence_rules.py, as the downloads print it), so
     i18n.js keeps no copy ("{label}"); in English the page's own word for the effect. */
  function effectWord(kind, label) {
    const key = `result.${kind}`;
    const text = t(key, { label: label || kind });
    return text === key ? label || kind : text;
  }

  function effectText(kind, label, percentage) {
    return effectWord(kind, label) +
      (percentage === null || percentage === undefined ? "" : ` ${plainNumber(percentage)}%`);
  }

  /* The results ledger's rows at the page's position (the dialog's position too). */
  function resultsRows() {
    return (state.data && state.data.then.results.rows) || [];
  }

  /* The server's label for an effect, as the results ledger has it; the code if it has none. */
  function effectLabelOf(kind) {
    const row = resultsRows().find((r) => r.effect === kind);
    return row ? row.effectLabel : kind;
  }

  /* A subject's consequence as its results ledger row shows it (the same row: the
     consequence's id is the row's resultId), else in the same words from its own fields. */
  function consequenceText(c) {
    const row = resultsRows().find((r) => r.resultId === c.id);
    return row ? effectText(row.effect, row.effectLabel, row.percentage)
      : effectText(c.kind, effectLabelOf(c.kind), c.percentage);
  }

  /* 结果应用台账: what the year's results did to the next year's budget. Each consequence with
     its basis (and the log position of the event it cites), the rule and its wording, the
     effect, target and amount; the totals; the next year's requests against the amounts
     arranged. Only what the caller may read: the API filters, the page adds nothing. */
  function renderResults() {
    const r = state.data.then.results;
    const next = r.fiscalYear + 1;
    const money = (amount) => t("results.amount", { amount });
    $("results-intro").textContent = t("results.intro", { year: r.fiscalYear, next });
    $("results-totals").replaceChildren(...[
      ["results.reduced", money(r.reducedTotal)], ["results.recovered", money(r.recoveredTotal)],
      ["results.priority", t("results.count", { count: r.priorityCount })],
      ["results.overridden", t("results.count", { count: r.overriddenCount })],
    ].map(([key, value]) => h("div", {}, h("dt", { text: t(key) }), h("dd", { text: value }))));
    const basis = (row) => between([
      keep([wordFor("results.basis", row.basisKind), row.basisGradeLabel].filter(Boolean).join(" ")),
      row.basisPosition === null ? null : keep(t("results.position", { position: row.basisPosition })),
    ].filter(Boolean), " ");
    const rule = (row) => (row.ruleVersion === null ? row.ruleWording || "—"
      : [keep(t("results.rule", { version: row.ruleVersion })), keep(row.ruleWording)]);
    const effect = (row) => effectText(row.effect, row.effectLabel, row.percentage);
    const target = (row) => {
      const transfer = row.targetKind === "transfer" && r.transfers.find((x) => x.code === row.targetId);
      const year = row.targetFiscalYear === null ? null : keep(String(row.targetFiscalYear));
      return between([year, keep(`${wordFor("results.target", row.targetKind)} ${row.targetId}`),
        transfer ? transfer.programme : null].filter(Boolean), " ");
    };
    const remarks = (row) => [row.overrideReason ? t("results.override", { reason: row.overrideReason }) : null,
      row.remarks || null].filter(Boolean).join("；");
    const heading = t("results.heading");
    $("results-body").replaceChildren(r.rows.length
      ? dataTable("results", heading, [{ key: "seq" }, { key: "name", zh: true }, { key: "basis" },
        { key: "rule" }, { key: "effect" }, { key: "target" }, { key: "amount", num: true },
        { key: "remarks", zh: true }],
      r.rows.map((row, index) => [String(index + 1), row.subjectName, basis(row), rule(row),
        effect(row), target(row), row.amount === null ? "—" : row.amount, remarks(row)]))
      : h("p", { class: "empty", text: t("results.none", { year: r.fiscalYear }) }));

    const requestsTitle = t("requests.heading", { next });
    $("requests-heading").textContent = requestsTitle;
    const names = new Map(r.rows.map((row) => [row.subjectCode, row.subjectName]));
    const notes = (q) => between([
      keep(q.subjectCode ? t("requests.continues", { code: q.subjectCode }) : t("requests.new")),
      q.priority ? keep(t("requests.priority")) : null].filter(Boolean), "；");
    const foot = h("tr", {}, h("th", { scope: "row", colspan: "2", text: t("total") }),
      h("td", { class: "num total", text: r.requestedTotal }), h("td", {}), h("td", {}),
      h("td", { class: "num total", text: r.arrangedTotal }), h("td", {}));
    $("requests-body").replaceChildren(r.requests.length
      ? dataTable("requests", requestsTitle, [{ key: "code" }, { key: "name", zh: true },
        { key: "requested", num: true }, { key: "reduced", num: true }, { key: "after", num: true },
        { key: "arranged", num: true }, { key: "remarks" }],
      r.requests.map((q) => [keep(q.code),
        q.projectName || names.get(q.subjectCode) || q.subjectCode || "—",
        q.requestedAmount, q.reducedAmount,
        q.afterConsequences === null ? t("requests.stopped") : q.afterConsequences,
        q.arrangedAmount === null ? "—" : q.arrangedAmount, notes(q)]), foot)
      : h("p", { class: "empty", text: t("requests.none", { next }) }));
    renderDownloads($("results-downloads"), "results-ledger", t("results.title", { year: r.fiscalYear }),
      COVERAGE_FORMATS);
  }

  function renderVerify() {
    const info = state.info || {};
    const cp = info.checkpoint;
    $("cp-origin").textContent = cp ? cp.origin : t("verify.noCheckpoint");
    $("cp-size").textContent = cp ? cp.size : "—";
    $("cp-root").textContent = cp ? cp.root : "—";
    $("cp-position").textContent = cp ? cp.lastPosition : "—";
    $("cp-made").textContent = cp ? formatTime(cp.madeAt) : "—";
    $("public-key").textContent = info.publicKey || t("verify.noKey", { problem: info.keyProblem || "" });
    $("key-link").hidden = !info.publicKey;
    $("dev-key").hidden = !(cp && info.developmentKey);
    const noteFile = cp ? `checkpoint-${cp.size}.note` : "checkpoint.note";
    const noteLink = $("note-link");
    noteLink.hidden = !cp;
    noteLink.setAttribute("download", noteFile);
    noteLink.textContent = t("verify.downloadNote", { file: noteFile });
    $("verify-command").textContent =
      `jixiao audit verify audit-bundle --key public.key --known ${noteFile}`;
    const position = state.data.then.position;
    $("cp-coverage").textContent = cp
      ? t(checkpointFor(position) ? "verify.covers" : "verify.notCovered", { position })
      : "";
    $("verify-step4").textContent = t("verify.step4", { position });
  }

  function renderDisclosure(pkg, problem) {
    const audience = t(`audience.${state.audience}`);
    $("disclosure-heading").textContent = t("disclosure.heading", { audience });
    const body = $("disclosure-body");
    if (problem) {
      body.replaceChildren(h("p", { class: "error", text: t("disclosure.refused", { message: problem }) }));
      return;
    }
    if (!pkg.disclosures.length) {
      body.replaceChildren(h("p", { class: "empty",
        text: t("disclosure.none", { audience, year: state.year }) }));
      return;
    }
    const names = new Map(pkg.subjects.map((s) => [s.code, s.name]));
    body.replaceChildren(h("ul", { class: "disclosures" }, pkg.disclosures.map((d) =>
      h("li", {}, h("strong", { text: d.title }),
        h("span", { class: "meta", text: t("disclosure.item", { time: formatTime(d.recordedAt),
          position: d.position, hash: d.contentHash }) +
          (d.checkpoint && d.checkpoint.size ? ` · ${t("disclosure.checkpoint", { size: d.checkpoint.size })}` : "") }),
        h("span", { class: "meta", text: t("disclosure.subjects", { count: d.subjectCodes.length,
          names: d.subjectCodes.map((code) => names.get(code) || code).join("、") }) })))));
  }

  // ---------------------------------------------------------------- subject detail

  async function openDetail(subjectId, opener) {
    const dialog = $("detail");
    const body = $("detail-body");
    state.opener = opener;
    $("detail-title").textContent = opener.textContent;
    body.replaceChildren(h("p", { text: t("detail.loading") }));
    if (!dialog.open) dialog.showModal();
    const position = state.data.then.position;
    const newest = ticket("detail");
    try {
      const code = await codeFor(subjectId);
      const found = code ? await gql(DETAIL_QUERY, { p: position, code }) : null;
      const subject = found && found.ledger.subject;
      if (!newest()) return;
      body.replaceChildren(...(subject ? detailContent(subject, position).flat(Infinity).filter(Boolean)
        : [h("p", { text: t("detail.missing") })]));
    } catch (error) {
      if (newest()) body.replaceChildren(h("p", { class: "error", text: t("error.load", { message: error.message }) }));
    }
  }

  function section(titleKey, items, build) {
    return [h("h3", { text: t(titleKey) }),
      items.length ? build(items) : h("p", { class: "empty", text: t("detail.none") })];
  }

  function detailContent(s, position) {
    const facts = [
      ["detail.code", s.code],
      ["detail.kind", t(`kind.${s.kind}`)],
      ["detail.unit", s.unitName],
      ["detail.funds", t("detail.fundsValue", { funds: s.funds })],
      ["detail.grade", !s.grade ? t("grade.none") : s.score === null
        ? t("detail.gradePublished", { label: gradeLabel(s.grade) })
        : t("detail.gradeValue", { label: gradeLabel(s.grade), score: s.score })],
      ["detail.goalStatus", t(`goal.${s.goalStatus}`)],
      ["detail.tags", s.tags.join("、") || t("detail.none")],
    ];
    return [
      h("p", { class: "hint", text: t("detail.asOf", { position }) }),
      h("dl", { class: "kv" }, facts.map(([key, value]) => [h("dt", { text: t(key) }), h("dd", { text: value })])),
      section("detail.goals", s.goals, (goals) => h("table", { class: "goals" },
        h("thead", {}, h("tr", {}, ["level1", "level2", "name", "target", "weight"].map((k) =>
          h("th", { scope: "col", text: t(`detail.goals.${k}`) })))),
        h("tbody", {}, goals.map((g) => h("tr", {},
          h("td", { text: g.level1 }), h("td", { text: g.level2 }), h("td", { text: g.name }),
          h("td", { text: g.comparator === "qualitative" ? g.target : `${g.comparator} ${g.target}${g.unit}` }),
          h("td", { class: "num", text: g.weight })))))),
      goalTableSection(s, position),
      latestMonitoring(s, position),
      selfEvaluationSection(s, position),
      section("detail.evaluations", s.evaluations, (evaluations) => evaluations.map((e) => h("div", {},
        h("p", {}, h("strong", { text: e.score === null
          ? t("detail.evaluationPublished", { kind: t(`eval.${e.kind}`), label: gradeLabel(e.publishedGrade), date: e.evaluatedOn })
          : t("detail.evaluation", { kind: t(`eval.${e.kind}`), score: e.score, date: e.evaluatedOn }) })),
        e.framework ? h("p", { class: "hint", text: t("detail.framework", { name: t(`framework.${e.framework.code}`), version: e.framework.version }) }) : null,
        h("p", { class: "narrative", lang: "zh-CN", text: e.narrative }),
        e.findings.length ? h("ul", { "aria-label": t("detail.findings") }, e.findings.map((f) => h("li", { text: f }))) : null))),
      reviewSection(s),
      section("detail.consequences", s.consequences, (items) => h("ul", {}, items.map((c) =>
        h("li", {}, h("strong", { class: "effect", text: consequenceText(c) }), c.amount ? `（${c.amount}）` : "",
          c.remarks ? ` ${c.remarks}` : "")))),
      section("detail.rectifications", s.rectifications, (items) => h("ul", {}, items.map((r) =>
        h("li", {}, r.items.join("；"), " — ", t("detail.rectification", { deadline: r.deadline, status: t(`rect.${r.status}`) }))))),
      section("detail.corrections", s.corrections, (items) => h("ul", {}, items.map((c) =>
        h("li", { text: t("detail.correction", { values: describeValues(c.values), reason: c.reason }) })))),
      section("detail.timeline", s.auditTrail.edges, (edges) => [
        h("ol", { class: "timeline" }, edges.map(({ node }) => timelineItem(node))),
        s.auditTrail.pageInfo.hasNextPage ? h("p", { class: "hint", text: t("detail.more") }) : null]),
    ];
  }

  /* 绩效目标表: the header (overall goal, funds by source), the review exchange (each return
     with its comments, each resubmission, the approval) and the downloads at this position. */
  function goalTableSection(s, position) {
    const g = s.goalTable;
    if (!g || g.status === "none") return null;
    const f = g.fundsBySource;
    const money = (v) => t("detail.fundsValue", { funds: v });
    const facts = [
      ["goalTable.overallGoal", g.overallGoal || t("goalTable.notStated")],
      ["goalTable.total", f ? money(f.total) : t("goalTable.notStated")],
      ["goalTable.current", f ? money(f.currentAppropriation) : t("goalTable.notStated")],
      ["goalTable.carried", f ? money(f.carriedOver) : t("goalTable.notStated")],
      ["goalTable.other", f ? money(f.other) : t("goalTable.notStated")],
      ["goalTable.revision", String(g.revision)],
    ];
    const downloads = formDownloads("goal-tables", s.code, position, t("goalTable.download"));
    return [h("h3", { text: t("goalTable.heading") }),
      h("dl", { class: "kv goal-table" }, facts.map(([key, value]) => [h("dt", { text: t(key) }), h("dd", { text: value })])),
      h("h4", { text: t("goalTable.history") }),
      h("ol", { class: "goal-history" }, g.history.map((step) => h("li", { "data-action": step.action },
        step.effectiveOn ? h("time", { datetime: step.effectiveOn, text: step.effectiveOn }) : null,
        h("strong", { text: t(`goalTable.action.${step.action}`, { revision: step.revision }) }),
        step.text ? `：${step.text}` : ""))),
      downloads];
  }

  /* One record's form (schema/form_exports.py) as xlsx and pdf, pinned to the page's
     position; `extra` names more of the record (a self-evaluation's version). */
  function formDownloads(form, record, position, label, extra) {
    const query = new URLSearchParams({ position: String(position), ...(extra || {}) });
    return h("p", { class: "downloads", "data-form": form },
      h("span", { class: "downloads-label", text: label }),
      ["xlsx", "pdf"].map((format) => h("a", { class: "download", download: "",
        "data-format": format, href: `/exports/${form}/${encodeURIComponent(record)}.${format}?${query}` },
      h("span", { class: "sr-only", text: `${label} ` }),
      h("span", { class: "format", text: format.toUpperCase() }))));
  }

  /* The latest monitoring snapshot: execution, each indicator's progress and deviation cause,
     the warnings, and what followed each warning (the actions cite it); the summary of its
     round (监控汇总表) when it reported in one. */
  function latestMonitoring(s, position) {
    const latest = s.monitoring.length ? [s.monitoring[s.monitoring.length - 1]] : [];
    return section("detail.monitoring", latest, ([m]) => {
      const actions = s.warningActions.filter((a) => a.snapshotId === m.id);
      return h("div", { class: "monitoring" },
        h("p", {}, h("strong", { text: t("detail.monitoringHead", { round: m.roundName,
          start: m.windowStart, end: m.windowEnd }) }),
        " ", t("detail.monitoringFigures", { budget: m.budgetAmount, executed: m.executedAmount,
          rate: m.executionRate }),
        m.reportedOn ? ` ${t("detail.monitoringReported", { date: m.reportedOn })}` : ""),
        m.indicators.length ? h("ul", { "aria-label": t("detail.goals") }, m.indicators.map((i) =>
          h("li", {}, h("strong", { text: i.name }), "：",
            [i.progress !== null ? t("detail.progress", { progress: i.progress }) : null,
              i.likelihood, i.deviationCause ? t("detail.cause", { cause: i.deviationCause }) : null,
              i.correctiveMeasures || null].filter(Boolean).join("；")))) : null,
        m.warnings.length ? h("ul", { class: "warnings", "aria-label": t("detail.warnings") },
          m.warnings.map((w, index) => h("li", {}, h("strong", { text: t("detail.warning") }), ` ${w.message}`,
            ...actions.filter((a) => a.warningIndex === index).map((a) => h("span", { class: "action",
              text: ` → ${t("detail.action", { label: a.label, amount: a.amount ? `（${a.amount} 万元）` : "",
                remarks: a.remarks, date: a.actedOn || "" })}` }))))) : null,
        m.roundId ? formDownloads("monitoring-rounds", m.roundId, position,
          t("detail.monitoringDownload", { round: m.roundName })) : null);
    });
  }

  // The finance bureau's spot-check re-reviews (抽查复核) of the subject: each against the
  // score it reviews, and per indicator against the self-evaluation's 得分.
  function reviewSection(s) {
    const dash = (value) => (value === null || value === undefined ? "—" : value);
    return section("detail.review", s.spotChecks, (checks) => checks.map((c) => h("div", { class: "review" },
      h("p", {}, h("strong", { text: t("detail.reviewLine", {
        reviewed: c.reviews === "self" ? t("review.self") : t("review.evaluation"),
        before: dash(c.reviewedScore), score: c.score, difference: dash(c.difference),
        date: dash(c.reviewedOn) }) })),
      c.indicators.length ? h("table", { class: "goals" },
        h("thead", {}, h("tr", {}, ["name", "before", "score", "difference", "remarks"].map((k) =>
          h("th", { scope: "col", text: t(`detail.review.${k}`) })))),
        h("tbody", {}, c.indicators.map((i) => h("tr", {},
          h("td", { text: i.name }), h("td", { class: "num", text: dash(i.reviewedScore) }),
          h("td", { class: "num", text: i.score }), h("td", { class: "num", text: dash(i.difference) }),
          h("td", { text: i.remarks }))))) : null,
      c.findings.length ? h("ul", { "aria-label": t("detail.findings") }, c.findings.map((f) => h("li", { text: f }))) : null)));
  }

  /* The self-evaluation table (项目支出绩效自评表): every version, newest first, with its
     review and its downloads; the scores are the ledger's, computed by the rule version it
     names. */
  function selfEvaluationSection(s, position) {
    const versions = s.selfEvaluations || [];
    const cell = (text, cls) => h("td", cls ? { class: cls, text } : { text });
    const head = (keys) => h("thead", {}, h("tr", {}, keys.map((k) =>
      h("th", { scope: "col", text: t(`detail.self.${k}`) }))));
    return section("detail.self", versions.slice().reverse(), (items) => items.map((v) => h("div", { class: "self-evaluation" },
      h("p", {}, h("strong", { text: t("detail.self.version", { version: v.version, score: v.score,
        status: t(`self.${v.status}`) }) }),
        v.ruleVersion === null ? "" : ` ${t("detail.self.rule", { version: v.ruleVersion })}`),
      v.reviewReasons.length ? h("ul", { "aria-label": t("detail.self.reasons") },
        v.reviewReasons.map((r) => h("li", { text: r }))) : null,
      v.budgetLines.length ? h("table", { class: "goals self-budget" },
        head(["source", "initialBudget", "fullYearBudget", "executed"]),
        h("tbody", {}, v.budgetLines.map((b) => h("tr", {}, cell(b.source),
          cell(b.initialBudget, "num"), cell(b.fullYearBudget, "num"), cell(b.executed, "num"))),
          h("tr", {}, cell(t("detail.self.total")), cell(v.initialBudget || "", "num"),
            cell(v.fullYearBudget || "", "num"),
            cell(`${v.executed}（${v.executionRate}%）`, "num")))) : null,
      v.indicators.length ? h("table", { class: "goals self-indicators" },
        head(["name", "target", "actual", "points", "score", "deviation"]),
        h("tbody", {}, v.indicators.map((i) => h("tr", {},
          cell(`${i.level1} / ${i.level2} / ${i.name}`),
          cell(i.comparator === "qualitative" ? i.target : `${i.comparator} ${i.target}${i.unit}`),
          cell(i.band || `${i.actual}${i.unit}`), cell(i.points, "num"), cell(i.score, "num"),
          cell(i.deviationReason))),
          v.totals.map((x) => h("tr", { class: "total" }, cell(x.name), cell(""), cell(""),
            cell(x.points, "num"), cell(x.score, "num"), cell(""))))) : null,
      formDownloads("self-evaluations", s.code, position,
        t("detail.self.download", { version: v.version }), { version: String(v.version) }))));
  }

  function describeValues(values) {
    return Object.entries(values || {}).map(([key, value]) => {
      const field = { funds: "field.funds", name: "field.subject_name" }[key];
      return `${field ? t(field) : key} = ${typeof value === "object" ? JSON.stringify(value) : value}`;
    }).join("，");
  }

  /* An event is labelled by its class's name (the type's last part); a correction names the
     position it corrects. */
  function timelineItem(entry) {
    const kind = entry.type.split(".").pop();
    const correction = entry.correctsPosition !== null;
    const c = entry.changes || {};
    const parts = [];
    if (correction) {
      parts.push(describeValues(c.values), t("summary.reason", { reason: c.reason }));
    } else {
      if (c.funds) parts.push(t("summary.funds", { funds: c.funds }));
      if (c.execution_rate) parts.push(t("summary.rate", { rate: c.execution_rate }));
      if (c.score) parts.push(t("summary.score", { score: c.score }));
      if (c.grade) parts.push(t("summary.grade", { grade: gradeLabel(c.grade) }));
      if (c.result_kind) parts.push(effectWord(c.result_kind, effectLabelOf(c.result_kind)));
      if (c.comments) parts.push(c.comments); // a review's comments, e.g. why goals were returned
      if (c.reason) parts.push(t("summary.reason", { reason: c.reason }));
    }
    return h("li", { class: correction ? "correction" : null },
      entry.effectiveOn ? h("time", { datetime: entry.effectiveOn, text: entry.effectiveOn }) : null,
      h("strong", { text: t(`event.${kind}`) }),
      parts.length ? `：${parts.join("；")}` : "",
      h("span", { class: "meta", text: t("detail.recorded", { time: formatTime(entry.recordedAt), position: entry.position }) }));
  }

  // ---------------------------------------------------------------- language, token, controls

  function applyWords(root) {
    for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of root.querySelectorAll("[data-i18n-attr]")) {
      for (const pair of node.dataset.i18nAttr.split(";")) {
        const [attr, key] = pair.split(":");
        node.setAttribute(attr, t(key));
      }
    }
  }

  function setLanguage(lang) {
    state.lang = lang === "en" ? "en" : "zh";
    localStorage.setItem(STORE.lang, state.lang);
    document.documentElement.lang = state.lang === "en" ? "en" : "zh-CN";
    document.title = t("doc.title");
    applyWords(document);
    $("lang").lang = state.lang === "en" ? "zh-CN" : "en"; // the button speaks the other language
    labelTzOptions();
    renderAudienceOptions();
    if (state.data) {
      render();
      loadDisclosure();
    }
  }

  function renderAudienceOptions() {
    for (const option of $("audience").options) {
      const name = t(`audience.${option.value}`);
      const locked = option.value !== "PUBLIC" && !state.token;
      option.disabled = locked;
      option.textContent = locked ? t("audience.needsToken", { name }) : name;
    }
    $("token-badge").hidden = !state.token;
  }

  function setToken(token) {
    state.token = token || null;
    if (state.token) sessionStorage.setItem(STORE.token, state.token);
    else sessionStorage.removeItem(STORE.token);
    if (!state.token && state.audience !== "PUBLIC") {
      state.audience = "PUBLIC";
      $("audience").value = "PUBLIC";
    }
    renderAudienceOptions();
  }

  function applyWhen(event) {
    event.preventDefault();
    const local = $("as-of").value;
    state.tz = $("tz").value;
    if (!local) {
      state.asOf = null;
    } else {
      const asOf = composeAsOf(local, state.tz);
      if (!asOf) {
        showError(t("error.badTime"));
        return;
      }
      state.asOf = Date.parse(asOf) > Date.now() ? null : asOf;
      if (!state.asOf) showError(t("error.future"));
    }
    load();
  }

  function bind() {
    $("lang").addEventListener("click", () => setLanguage(state.lang === "en" ? "zh" : "en"));
    $("controls").addEventListener("submit", applyWhen);
    $("year").addEventListener("change", () => {
      state.year = Number($("year").value);
      load();
    });
    $("audience").addEventListener("change", () => {
      state.audience = $("audience").value;
      loadDisclosure();
    });
    $("tz").addEventListener("change", () => {
      state.tz = $("tz").value;
      if (state.data) render();
    });
    $("now").addEventListener("click", () => {
      $("as-of").value = "";
      state.asOf = null;
      load();
    });
    $("token-use").addEventListener("click", () => {
      const value = $("token").value.trim();
      $("token").value = "";
      if (!value) return;
      setToken(value);
      load();
    });
    $("token-clear").addEventListener("click", () => {
      $("token").value = "";
      setToken(null);
      load();
    });
    $("detail-close").addEventListener("click", () => $("detail").close());
    $("detail").addEventListener("close", () => {
      if (state.opener && state.opener.isConnected) state.opener.focus();
    });
  }

  async function init() {
    const params = new URLSearchParams(location.search);
    const lang = params.get("lang") || localStorage.getItem(STORE.lang) || "zh";
    state.token = sessionStorage.getItem(STORE.token);
    const local = offsetText(-new Date().getTimezoneOffset());
    ensureTzOption(local);
    const asOf = parseAsOf(params.get("asOf"));
    if (asOf) {
      ensureTzOption(asOf.tz);
      state.tz = asOf.tz;
      state.asOf = asOf.exact;
      $("as-of").value = asOf.local;
    }
    $("tz").value = state.tz;
    bind();
    setLanguage(lang);
    try {
      state.info = await fetchInfo();
    } catch (error) {
      showError(t("error.load", { message: error.message }));
      state.info = { fiscalYears: [] };
    }
    const years = state.info.fiscalYears.length ? state.info.fiscalYears : [new Date().getFullYear() - 1];
    const wanted = Number(params.get("year"));
    state.year = years.includes(wanted) ? wanted : years[0];
    $("year").replaceChildren(...years.map((y) => h("option", { value: y, text: y })));
    $("year").value = state.year;
    await load();
  }

  init();
})();
