"""Every page over the realistic store: what it shows, its filters, sorting and paging."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from ._data import QUESTIONS, RealisticStore


def rows_shown(html: str) -> list[int]:
    """The row numbers of the predictions table on a run page."""
    table = html.split('id="rows"', 1)[1].split("</table>", 1)[0]
    return [int(n) for n in re.findall(r"/rows/(\d+)\?table=", table)]


def run_names(html: str) -> list[str]:
    body = html.split('id="runs"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/runs/[0-9a-f]+">([^<]+)</a>', body)


# -- experiments and runs ----------------------------------------------------------------------


def test_experiments_show_their_run_counts_and_last_activity(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    page = realistic_client.get("/")
    assert page.status_code == 200
    row = page.text.split("support-bot", 1)[1].split("</tr>", 1)[0]
    assert f"/experiments/{realistic.experiment_id}" in page.text
    assert '<td class="num">3</td>' in row
    assert re.search(r"<td>20\d\d-\d\d-\d\d \d\d:\d\d:\d\d</td>", row)


def test_runs_are_listed_newest_first_and_sorted_by_any_column(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    path = f"/experiments/{realistic.experiment_id}"
    assert run_names(realistic_client.get(path).text) == ["prompt-v3", "prompt-v2", "prompt-v1"]
    by_name = realistic_client.get(path, params={"sort": "name", "order": "asc"}).text
    assert run_names(by_name) == ["prompt-v1", "prompt-v2", "prompt-v3"]
    by_temperature = realistic_client.get(
        path, params={"sort": "params.temperature", "order": "desc"}
    ).text
    assert run_names(by_temperature)[0] == "prompt-v2"
    by_score = realistic_client.get(path, params={"sort": "metrics.eval_score", "order": "asc"})
    assert run_names(by_score.text) == ["prompt-v1", "prompt-v2", "prompt-v3"]
    by_duration = realistic_client.get(path, params={"sort": "duration", "order": "asc"})
    assert sorted(run_names(by_duration.text)) == ["prompt-v1", "prompt-v2", "prompt-v3"]


def test_runs_show_the_chosen_params_and_metrics_as_columns(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    path = f"/experiments/{realistic.experiment_id}"
    default = realistic_client.get(path).text
    assert 'title="params.temperature"' in default  # differs between runs: shown
    assert 'title="params.tools"' not in default  # the same in every run: not by default
    chosen = realistic_client.get(path, params={"column": ["params.tools", "metrics.nope"]}).text
    header = chosen.split("<thead>", 2)[1].split("</thead>", 1)[0]
    assert 'title="params.tools"' in header
    assert 'title="metrics.nope"' not in header
    assert 'title="params.temperature"' not in header


def test_runs_are_filtered_with_the_search_runs_grammar(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    path = f"/experiments/{realistic.experiment_id}"
    page = realistic_client.get(path, params={"filter": "params.temperature = '0.7'"})
    assert (page.status_code, run_names(page.text)) == (200, ["prompt-v2"])
    assert "1 run match" in page.text
    both = realistic_client.get(
        path, params={"filter": "params.model = 'gpt-4o-mini' and metrics.eval_score > 0"}
    )
    assert sorted(run_names(both.text)) == ["prompt-v1", "prompt-v2"]


def test_a_bad_filter_is_explained_inline(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    path = f"/experiments/{realistic.experiment_id}"
    page = realistic_client.get(path, params={"filter": "params.model = gpt"})
    assert page.status_code == 200  # the page, with the error where the filter is
    error = page.text.split('id="filter-error"', 1)[1].split("</p>", 1)[0]
    assert "Invalid filter" in error
    assert "a quoted string to compare params.model with" in error
    assert 'value="params.model = gpt"' in page.text  # kept in the box, to be corrected
    assert len(run_names(page.text)) == 3


def test_unknown_experiments_and_runs_are_404_pages(realistic_client: TestClient) -> None:
    for path in ("/experiments/nope", "/runs/nope", "/runs/nope/rows/0", "/nowhere"):
        page = realistic_client.get(path)
        assert page.status_code == 404, path
        assert 'role="alert"' in page.text


# -- a run -------------------------------------------------------------------------------------


def test_a_run_shows_params_tags_metrics_charts_and_artifacts(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    page = realistic_client.get(f"/runs/{realistic.run_ids['prompt-v2']}")
    assert page.status_code == 200
    html = page.text
    assert "<tr><th>temperature</th><td>0.7</td></tr>" in html
    assert "<tr><th>team</th><td>support</td></tr>" in html
    assert "<tr><th>eval_score</th>" in html
    for key in ("latency_ms", "input_tokens", "output_tokens", "ttft_ms", "eval_score"):
        assert f'data-key="{key}"' in html
    assert '"api": "/api/runs/' in html  # the charts' data comes from the JSON endpoint
    assert "notes.md" in html
    assert "prompt.json" in html


def test_a_run_pages_its_predictions_with_their_facets(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    path = f"/runs/{realistic.run_ids['prompt-v1']}"
    html = realistic_client.get(path).text
    total = len(QUESTIONS) + 4  # a stream, a tool call, an embedding, a failed call
    assert rows_shown(html) == list(range(total))
    assert f"Rows 1 to {total} of {total}." in html
    assert '<option value="error" >error (1)</option>' in html.replace("  ", " ")
    assert f"ok ({total - 1})" in html
    assert "text-embedding-3-small (1)" in html
    assert "embedding (1)" in html
    newest = realistic_client.get(path, params={"order": "newest"}).text
    assert rows_shown(newest) == list(reversed(range(total)))


def test_the_predictions_table_is_filtered_and_searched(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    path = f"/runs/{realistic.run_ids['prompt-v1']}"
    errors = realistic_client.get(path, params={"status": "error"}).text
    assert rows_shown(errors) == [len(QUESTIONS) + 3]
    assert "Rows 1 to 1 of 1 matching." in errors
    embeddings = realistic_client.get(path, params={"operation": "embedding"}).text
    assert rows_shown(embeddings) == [len(QUESTIONS) + 2]
    refund = realistic_client.get(path, params={"q": "REFUND"}).text
    assert rows_shown(refund) == [3, len(QUESTIONS) + 2]  # a question, and the embedding
    none = realistic_client.get(path, params={"q": "refund", "status": "error"}).text
    assert rows_shown(none) == []
    assert "No rows matching." in none
    unknown = realistic_client.get(path, params={"table": "nope.csv"})
    assert unknown.status_code == 404


def test_the_predictions_table_pages_fifty_rows_at_a_time(
    big_client: TestClient,
) -> None:
    first = big_client.get("/runs/big-run").text
    assert rows_shown(first) == list(range(50))
    assert "Rows 1 to 50 of 200,000." in first
    assert "page 1 of 4,000" in first
    last = big_client.get("/runs/big-run", params={"page": 4000}).text
    assert rows_shown(last) == list(range(199_950, 200_000))
    beyond = big_client.get("/runs/big-run", params={"page": 9999}).text
    assert rows_shown(beyond) == []
    assert 'href="/runs/big-run?table=predictions.csv&amp;page=2#table"' in first


def test_filters_and_search_page_through_many_rows(big_client: TestClient) -> None:
    errors = big_client.get("/runs/big-run", params={"status": "error", "page": 5}).text
    assert "Rows 201 to 201 of 201 matching." in errors
    assert rows_shown(errors) == [997 * 200]
    assert "error (201)" in errors
    assert "gpt-4o (66,667)" in errors
    mixed = big_client.get(
        "/runs/big-run", params={"model": "o3-mini", "operation": "embedding", "page": 2}
    ).text
    assert rows_shown(mixed)[:2] == [21 * 50 + 14, 21 * 51 + 14]  # i % 3 == 2, i % 7 == 0
    found = big_client.get("/runs/big-run", params={"q": "question 123456:"}).text
    assert rows_shown(found) == [123_456]


# -- a row ---------------------------------------------------------------------------------------


def test_a_row_shows_the_prompt_as_a_conversation_and_the_response(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    path = f"/runs/{realistic.run_ids['prompt-v1']}/rows/1"
    html = realistic_client.get(path, params={"table": "predictions.csv"}).text
    prompt = html.split('class="prompt"', 1)[1].split('class="response"', 1)[0]
    roles = re.findall(r'<div class="message role-(\w+)">', prompt)
    assert roles == ["system", "user"]
    assert "You are a concise, friendly support agent" in prompt
    assert QUESTIONS[1] in prompt
    response = html.split('class="response"', 1)[1].split("</section>", 1)[0]
    assert f"echo: {QUESTIONS[1]}" in response
    assert "&#34;temperature&#34;: 0.2" in html  # the request's params, laid out
    assert 'rel="prev"' in html
    assert 'rel="next"' in html


def test_a_tool_call_is_shown_by_name_with_its_arguments_laid_out(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    number = len(QUESTIONS) + 1
    html = realistic_client.get(f"/runs/{realistic.run_ids['prompt-v1']}/rows/{number}").text
    response = html.split('class="response"', 1)[1].split("</section>", 1)[0]
    assert "tool call: get_order_status" in response
    assert "{\n  &#34;order_id&#34;: &#34;4417&#34;\n}" in response


def test_a_failed_call_shows_its_error(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    number = len(QUESTIONS) + 3
    html = realistic_client.get(f"/runs/{realistic.run_ids['prompt-v1']}/rows/{number}").text
    assert "RateLimitError" in html.split('class="error"', 1)[1].split("</p>", 1)[0]
    assert "badge-error" in html


def test_a_row_past_the_end_is_a_404(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    run_id = realistic.run_ids["prompt-v1"]
    assert realistic_client.get(f"/runs/{run_id}/rows/999").status_code == 404
    missing = realistic_client.get(f"/runs/{run_id}/rows/0", params={"table": "x.csv"})
    assert missing.status_code == 404


def test_a_row_of_a_big_table_is_read_alone(big_client: TestClient) -> None:
    html = big_client.get("/runs/big-run/rows/199999").text
    assert "Question 199999: where is order 199999?" in html
    assert 'rel="next"' not in html
    assert "page=4000#table" in html


# -- compare -----------------------------------------------------------------------------------


def test_compare_sets_params_side_by_side_and_marks_differences(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    ids = [realistic.run_ids[n] for n in ("prompt-v1", "prompt-v2", "prompt-v3")]
    html = realistic_client.get("/compare", params={"run": ids}).text
    params = html.split('id="params-table"', 1)[1].split("</table>", 1)[0]
    rows = dict(
        re.findall(r'<tr class="([^"]*)"><th>(\w+)</th>', params)[i][::-1] for i in range(4)
    )
    assert rows == {
        "model": "differs",
        "prompt_version": "differs",
        "temperature": "differs",
        "tools": "",
    }
    assert "<td>0.2</td><td>0.7</td><td>0.2</td>" in params
    only = realistic_client.get("/compare", params={"run": ids, "diff": "1"}).text
    assert "<th>tools</th>" not in only.split('id="params-table"', 1)[1].split("</table>", 1)[0]
    assert '"metrics": ["eval_score", "input_tokens"' in html  # each metric overlaid


def test_compare_joins_the_rows_with_the_same_inputs(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    ids = [realistic.run_ids["prompt-v1"], realistic.run_ids["prompt-v2"]]
    html = realistic_client.get("/compare", params={"run": ids}).text
    joined = html.split('id="joined"', 1)[1].split("</table>", 1)[0]
    row = joined.split(QUESTIONS[2], 1)[1].split("</tr>", 1)[0]
    assert row.count(f"echo: {QUESTIONS[2]}") == 2
    assert f"{len(QUESTIONS) + 5} distinct inputs" in html  # v2's extra prompt too
    in_all = realistic_client.get("/compare", params={"run": ids, "all": "1"}).text
    assert f"{len(QUESTIONS) + 4} distinct inputs in predictions.csv that every run has" in in_all


def test_compare_needs_two_to_five_known_runs(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    one = realistic_client.get("/compare", params={"run": realistic.run_ids["prompt-v1"]})
    assert one.status_code == 400
    assert "Choose 2 to 5 runs" in one.text
    six = realistic_client.get("/compare", params={"run": [str(i) for i in range(6)]})
    assert six.status_code == 400
    unknown = realistic_client.get(
        "/compare", params={"run": [realistic.run_ids["prompt-v1"], "nope"]}
    )
    assert unknown.status_code == 404


# -- artifacts ---------------------------------------------------------------------------------


def test_artifacts_are_downloaded_or_shown_as_text(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    run_id = realistic.run_ids["prompt-v1"]
    download = realistic_client.get(f"/runs/{run_id}/artifacts/prompt.json")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''prompt.json"
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.json()["version"] == "v1"
    view = realistic_client.get(f"/runs/{run_id}/artifacts/notes.md", params={"view": "1"})
    assert "# prompt-v1" in view.text
    assert realistic_client.get(f"/runs/{run_id}/artifacts/nope.txt").status_code == 404
