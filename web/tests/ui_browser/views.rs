//! The analysis views: the first screen of a deep profile, group-by
//! ranked by the server, the sandwich, focus and details, the keyboard and
//! the frame menu, the state in the URL, the comparison of a moved
//! subtree, hostile names in every new view, and the dark theme.

use fantoccini::{
    actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_RIGHT},
    Client, Locator,
};
use serde_json::{json, Value};

use crate::page::{
    assert_nothing_injected, chart_point, click_id, drag_on_chart, frame_row, frames_text, js,
    open, point_at_frame, point_at_frame_in, run_and_wait, screenshot, table_column, tooltip_name,
    wait_js, zoomed_frame,
};
use crate::seed::{
    deep_frame, grouped_process, grouped_samples, DEEP_FRAMES, GROUPED_PROCESSES, HOSTILE,
};

async fn text_of(client: &Client, id: &str) -> Value {
    js(
        client,
        &format!("return document.getElementById('{id}').textContent"),
    )
    .await
}

async fn hidden(client: &Client, id: &str) -> bool {
    js(
        client,
        &format!("return document.getElementById('{id}').hidden"),
    )
    .await
        == json!(true)
}

/// A 150-frame stack: the page opens top-down, the root and the first
/// frames on the first screen without scrolling; the other orientation is
/// one click away and kept in the URL.
pub async fn deep_first_screen(client: &Client, base: &str) {
    open(
        client,
        &format!("{base}/?query=deep_cpu"),
        "the deep profile",
    )
    .await;
    screenshot(client, "00-deep-first-screen").await;
    let first = (0..3).map(deep_frame).collect::<Vec<_>>();
    let seen = js(
        client,
        &format!(
            "return [window.scrollY, ...{}.map(n => {{
               const c = window.brasa.frameCenter(n);
               return Boolean(c) && c.y > 0 && c.y < window.innerHeight && c.width > 200;
             }})]",
            json!(first)
        ),
    )
    .await;
    assert_eq!(seen, json!([0, true, true, true]));
    // The text equivalent lists every frame drawn, root first, with its values.
    let rows = frames_text(client, "flame-text").await;
    assert_eq!(rows.len(), DEEP_FRAMES + 1, "{rows:?}");
    assert_eq!(rows[0][..2], ["0".to_owned(), "all".to_owned()]);
    let leaf = deep_frame(DEEP_FRAMES - 1);
    let last = frame_row(&rows, DEEP_FRAMES, &leaf).expect("the leaf is listed");
    assert_eq!(last[2..], ["100 ms", "100 ms", "100.00%"]);

    click_id(client, "orientation").await;
    let flipped = js(
        client,
        &format!(
            "return [window.brasa.flame.icicle,
                     window.brasa.frameCenter('{}').y > window.brasa.frameCenter('{leaf}').y,
                     location.search.includes('view=flame')]",
            deep_frame(0)
        ),
    )
    .await;
    assert_eq!(flipped, json!([false, true, true]));
    let href = js(client, "return location.href").await;
    open(
        client,
        href.as_str().unwrap(),
        "the flame orientation, reloaded",
    )
    .await;
    assert_eq!(
        js(client, "return window.brasa.flame.icicle").await,
        json!(false)
    );
    click_id(client, "orientation").await;
    assert_eq!(
        js(client, "return window.brasa.flame.icicle").await,
        json!(true)
    );
}

/// Twenty processes of different sizes grouped by `process`: the server's
/// twelve biggest in order with their shares of the whole, the rest as
/// "other"; one chart line per group with a legend that toggles them and
/// a readout on hover; a click on a group narrows the selector.
pub async fn group_by_top(client: &Client, base: &str) {
    client
        .goto(&format!("{base}/?query=grouped_cpu&group_by=process"))
        .await
        .unwrap();
    let rows = wait_js(
        client,
        "document.querySelectorAll('#groups-table tbody tr').length > 0 &&
         [...document.querySelectorAll('#groups-table tbody tr')]
           .map(tr => [...tr.children].map(td => td.textContent))",
        "the group table",
    )
    .await;
    let rows: Vec<Vec<String>> = serde_json::from_value(rows).unwrap();
    let mut sizes: Vec<(i64, String)> = (0..GROUPED_PROCESSES)
        .map(|i| (grouped_samples(i), grouped_process(i)))
        .collect();
    sizes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let whole: i64 = sizes.iter().map(|(s, _)| s).sum();
    let share = |samples: i64| format!("{:.2}%", samples as f64 * 100.0 / whole as f64);
    let mut expected: Vec<(String, String)> = sizes[..12]
        .iter()
        .map(|(samples, name)| (name.clone(), share(*samples)))
        .collect();
    let rest: i64 = sizes[12..].iter().map(|(s, _)| s).sum();
    expected.push(("other (8 values)".to_owned(), share(rest)));
    let shown: Vec<(String, String)> = rows.iter().map(|r| (r[0].clone(), r[2].clone())).collect();
    assert_eq!(shown, expected);
    // The names do not sort as the sizes do: alphabetical would be wrong.
    assert_ne!(sizes[0].1, "proc-01");

    let lines = js(
        client,
        "return window.brasa.chart.lines.map(l => [l.name, l.points.length > 0])",
    )
    .await;
    let names: Vec<String> = expected.iter().map(|(n, _)| n.clone()).collect();
    let want: Vec<Value> = names.iter().map(|n| json!([n, true])).collect();
    assert_eq!(lines, json!(want));
    let legend = js(
        client,
        "return [...document.querySelectorAll('#chart-lines button')].map(b => b.textContent)",
    )
    .await;
    assert_eq!(legend, json!(names));
    js(
        client,
        "document.querySelector('#chart-lines button').click()",
    )
    .await;
    assert_eq!(
        js(
            client,
            "return [window.brasa.chart.lines[0].hidden,
                     document.querySelector('#chart-lines button').getAttribute('aria-pressed')]"
        )
        .await,
        json!([true, "false"])
    );
    js(
        client,
        "document.querySelector('#chart-lines button').click()",
    )
    .await;

    let (x, y) = chart_point(client, 0.6).await;
    let hover = MouseActions::new("mouse".to_owned()).then(PointerAction::MoveTo {
        duration: None,
        x,
        y,
    });
    client.perform_actions(hover).await.unwrap();
    let readout = wait_js(
        client,
        "document.getElementById('chart-readout').textContent",
        "the chart's readout",
    )
    .await;
    assert!(
        readout
            .as_str()
            .unwrap()
            .contains(&format!("{} ", names[0])),
        "{readout}"
    );
    screenshot(client, "13-group-by-top").await;

    // A click on the biggest group narrows the selector to it.
    run_and_wait(
        client,
        "document.querySelector('#groups-table tbody tr').click()",
    )
    .await;
    assert_eq!(
        js(
            client,
            "return [document.getElementById('query').value, document.getElementById('group-by').value]"
        )
        .await,
        json!([format!("grouped_cpu{{process=\"{}\"}}", names[0]), ""])
    );
    assert!(hidden(client, "groups-panel").await);
    assert_eq!(
        table_column(client, 0).await,
        ["main".to_owned(), format!("work_{}", names[0])]
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
    );
}

/// The sandwich of `encode`, reached from `handlerA` and `handlerB`:
/// both callers with their values above, its callees below; opened from
/// a table row, from the frame menu and from the keyboard; kept over a
/// reload. A row click highlights the function and shows its details.
pub async fn sandwich_and_focus(client: &Client, base: &str) {
    open(
        client,
        &format!("{base}/?query=sandwich_cpu"),
        "the sandwich profile",
    )
    .await;
    js(
        client,
        "document.querySelector('#top-table tbody tr[data-name=\"encode\"] button[data-action=\"sandwich\"]').click()",
    )
    .await;
    wait_js(
        client,
        "!document.getElementById('sandwich-panel').hidden",
        "the sandwich",
    )
    .await;
    check_encode_sandwich(client).await;
    screenshot(client, "14-sandwich").await;
    let href = js(client, "return location.href").await;
    assert!(href.as_str().unwrap().contains("sandwich=encode"), "{href}");
    open(client, href.as_str().unwrap(), "the sandwich, reloaded").await;
    assert!(!hidden(client, "sandwich-panel").await);
    check_encode_sandwich(client).await;
    click_id(client, "sandwich-close").await;
    assert!(!js(client, "return location.search")
        .await
        .as_str()
        .unwrap()
        .contains("sandwich="));

    // The frame menu of a frame opens its sandwich.
    point_at_frame_in(
        client,
        "flame",
        "window.brasa.flame",
        "encode",
        Some(MOUSE_BUTTON_RIGHT),
    )
    .await;
    wait_js(
        client,
        "!document.getElementById('frame-menu').hidden",
        "the frame menu",
    )
    .await;
    js(
        client,
        "document.querySelector('#frame-menu [data-action=\"sandwich\"]').click()",
    )
    .await;
    assert_eq!(text_of(client, "sandwich-title").await, json!("encode"));
    assert!(hidden(client, "frame-menu").await);
    click_id(client, "sandwich-close").await;

    // A row click: the function highlighted, the rest dimmed, its details.
    js(
        client,
        "document.querySelector('#top-table tbody tr[data-name=\"encode\"] td').click()",
    )
    .await;
    let focus = js(
        client,
        "const h = window.brasa.flame.highlight;
         return [h && h.reduce((a, b) => a + b, 0),
                 document.getElementById('details-title').textContent,
                 document.querySelector('#details-facts [data-fact=\"self\"]').textContent,
                 document.querySelector('#details-facts [data-fact=\"total\"]').textContent,
                 location.search.includes('focus=encode')]",
    )
    .await;
    assert_eq!(
        focus,
        json!([2, "encode", "50.0 ms (5.00%)", "650 ms (65.00%)", true])
    );
    screenshot(client, "15-focus-details").await;
    // The search box filters the table too.
    crate::page::set_input(client, "search", "hand").await;
    assert_eq!(
        table_column(client, 0).await,
        ["handlerA".to_owned(), "handlerB".to_owned()]
    );
    crate::page::set_input(client, "search", "").await;
    js(
        client,
        "document.querySelector('#top-table tbody tr[data-name=\"encode\"] td').click()",
    )
    .await;
    assert_eq!(
        js(client, "return window.brasa.flame.highlight").await,
        Value::Null
    );

    // The keyboard: from the root down the widest frames, Enter zooms, d details, s sandwich.
    js(
        client,
        "window.brasa.flame.select(-1); window.brasa.flame.reset();
         document.getElementById('flame').focus()",
    )
    .await;
    let canvas = client.find(Locator::Id("flame")).await.unwrap();
    canvas
        .send_keys("\u{E015}\u{E015}\u{E015}\u{E007}d")
        .await
        .unwrap();
    let keyed = js(
        client,
        "return [document.getElementById('zoom-path').dataset.zoomed,
                 document.getElementById('details-title').textContent,
                 document.getElementById('frame-announce').textContent.startsWith('encode:')]",
    )
    .await;
    // main, then its widest child handlerA (0.40 s), then encode.
    assert_eq!(keyed, json!(["encode", "encode", true]));
    canvas.send_keys("s").await.unwrap();
    assert_eq!(text_of(client, "sandwich-title").await, json!("encode"));
    canvas.send_keys("\u{E00C}").await.unwrap();
    assert_eq!(zoomed_frame(client).await, json!(""));
}

async fn check_encode_sandwich(client: &Client) {
    assert_eq!(text_of(client, "sandwich-title").await, json!("encode"));
    let callers = frames_text(client, "sandwich-callers-text").await;
    let cells = |rows: &[Vec<String>], depth, name: &str| {
        frame_row(rows, depth, name).unwrap_or_else(|| panic!("{name} at depth {depth}: {rows:?}"))
            [2..]
            .to_vec()
    };
    assert_eq!(cells(&callers, 0, "encode"), ["650 ms", "0 ns", "100.00%"]);
    assert_eq!(cells(&callers, 1, "handlerA"), ["400 ms", "0 ns", "61.54%"]);
    assert_eq!(cells(&callers, 1, "handlerB"), ["250 ms", "0 ns", "38.46%"]);
    assert_eq!(cells(&callers, 2, "main"), ["400 ms", "400 ms", "61.54%"]);
    let callees = frames_text(client, "sandwich-callees-text").await;
    assert_eq!(
        cells(&callees, 0, "encode"),
        ["650 ms", "50.0 ms", "100.00%"]
    );
    assert_eq!(
        cells(&callees, 1, "compress"),
        ["500 ms", "500 ms", "76.92%"]
    );
    assert_eq!(
        cells(&callees, 1, "checksum"),
        ["100 ms", "100 ms", "15.38%"]
    );
    assert_eq!(callees.len(), 3, "{callees:?}");
}

/// Zoom, focus, sandwich, search and orientation come back from the URL.
pub async fn state_in_url(client: &Client, base: &str) {
    open(
        client,
        &format!("{base}/?query=sandwich_cpu"),
        "the sandwich profile",
    )
    .await;
    point_at_frame(client, "handlerA", true).await;
    js(
        client,
        "document.querySelector('#top-table tbody tr[data-name=\"encode\"] button[data-action=\"sandwich\"]').click();
         document.querySelector('#top-table tbody tr[data-name=\"compress\"] td').click()",
    )
    .await;
    crate::page::set_input(client, "search", "check").await;
    click_id(client, "orientation").await;
    let href = js(client, "return location.href").await;
    open(client, href.as_str().unwrap(), "the view, reloaded").await;
    let state = js(
        client,
        "return [document.getElementById('zoom-path').dataset.zoomed,
                 window.brasa.page.focus,
                 document.getElementById('sandwich-title').textContent,
                 !document.getElementById('sandwich-panel').hidden,
                 document.getElementById('search').value,
                 window.brasa.flame.icicle,
                 document.getElementById('details-title').textContent]",
    )
    .await;
    assert_eq!(
        state,
        json!(["handlerA", "compress", "encode", true, "check", false, "compress"])
    );
    screenshot(client, "16-state-from-url").await;
}

/// A subtree that moved from `callerA` to `callerB`, its leaf unchanged:
/// the changes table shows both callers by total share; base and head
/// side by side in the same colours; the base range brushed alone.
pub async fn moved_subtree(client: &Client, base: &str) {
    open(
        client,
        &format!(
            "{base}/?base={}&head={}",
            brasa_test_support::server::enc(r#"moved_cpu{version="a"}"#),
            brasa_test_support::server::enc(r#"moved_cpu{version="b"}"#)
        ),
        "the moved-subtree diff",
    )
    .await;
    let rows = js(
        client,
        "return Object.fromEntries([...document.querySelectorAll('#top-table tbody tr')]
           .map(tr => [tr.dataset.name, [...tr.children].slice(1, 7).map(td => td.textContent)]))",
    )
    .await;
    assert_eq!(
        rows["callerB"],
        json!(["0.00%", "0.00%", "0.00", "0.00%", "50.00%", "+50.00"])
    );
    assert_eq!(
        rows["callerA"],
        json!(["0.00%", "0.00%", "0.00", "50.00%", "0.00%", "-50.00"])
    );
    assert!(rows.get("work").is_none(), "work did not change: {rows}");

    assert!(!hidden(client, "sides-panel").await);
    let base_rows = frames_text(client, "base-flame-text").await;
    let head_rows = frames_text(client, "head-flame-text").await;
    assert_eq!(
        frame_row(&base_rows, 2, "callerA").unwrap()[2..],
        ["50.00%"]
    );
    assert!(
        frame_row(&base_rows, 2, "callerB").is_none(),
        "{base_rows:?}"
    );
    assert_eq!(
        frame_row(&head_rows, 2, "callerB").unwrap()[2..],
        ["50.00%"]
    );
    let same = js(
        client,
        "const [b, h] = window.brasa.sides; const t = b.tree;
         return [...Array(t.count).keys()].every(n => b.colorOf(n) === h.colorOf(n))",
    )
    .await;
    assert_eq!(same, json!(true));
    screenshot(client, "17-moved-subtree").await;

    // Brushing the base range alone (its samples are a minute old: the
    // drag ends at the right edge, now).
    js(
        client,
        "const s = document.getElementById('brush-side'); s.value = 'base';
         s.dispatchEvent(new Event('change'))",
    )
    .await;
    drag_on_chart(client, 0.6, 0.999).await;
    let ranges = js(
        client,
        r"return ['from', 'base_from', 'base_to', 'head_from', 'head_to']
            .map(id => document.getElementById(id).value)
            .map(v => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(v) ? 'rfc3339' : v)",
    )
    .await;
    assert_eq!(ranges, json!(["now-1h", "rfc3339", "rfc3339", "", ""]));
    assert!(js(client, "return location.search")
        .await
        .as_str()
        .unwrap()
        .contains("base_from="));
}

/// A function and a label value named like markup stay text in the
/// tooltip, details, sandwich and chart legend.
pub async fn hostile_in_new_views(client: &Client, base: &str) {
    client
        .goto(&format!("{base}/?query=hostile_cpu&group_by=process"))
        .await
        .unwrap();
    let legend = wait_js(
        client,
        "document.querySelectorAll('#chart-lines button').length > 0 &&
         [...document.querySelectorAll('#chart-lines button')].map(b => b.textContent)",
        "the chart legend",
    )
    .await;
    assert_eq!(legend, json!([HOSTILE]));
    wait_js(
        client,
        "document.body.dataset.state === 'ready'",
        "the hostile profile",
    )
    .await;
    let hostile = serde_json::to_string(HOSTILE).unwrap();
    js(
        client,
        &format!(
            "const row = [...document.querySelectorAll('#top-table tbody tr')].find(tr => tr.dataset.name === {hostile});
             row.children[0].click();
             row.querySelector('button[data-action=\"sandwich\"]').click()"
        ),
    )
    .await;
    let shown = js(
        client,
        "return [document.getElementById('details-title').textContent,
                 document.getElementById('sandwich-title').textContent,
                 document.querySelector('#groups-table tbody tr td').textContent]",
    )
    .await;
    assert_eq!(shown, json!([HOSTILE, HOSTILE, HOSTILE]));
    let callers = frames_text(client, "sandwich-callers-text").await;
    assert!(frame_row(&callers, 0, HOSTILE).is_some(), "{callers:?}");
    assert_eq!(tooltip_name(client, HOSTILE).await, json!(HOSTILE));
    screenshot(client, "18-hostile-views").await;
    assert_nothing_injected(client).await;
}

/// The page follows the system's dark theme: its colours and the chart's
/// axis come from the dark palette.
pub async fn dark_theme(client: &Client, base: &str) {
    crate::devtools::prefer_color_scheme(client, "dark").await;
    open(
        client,
        &format!("{base}/?query=sandwich_cpu"),
        "the dark page",
    )
    .await;
    let colours = js(
        client,
        "return [matchMedia('(prefers-color-scheme: dark)').matches,
                 getComputedStyle(document.body).backgroundColor,
                 getComputedStyle(document.querySelector('.panel')).backgroundColor,
                 getComputedStyle(document.body).color]",
    )
    .await;
    assert_eq!(
        colours,
        json!([
            true,
            "rgb(22, 19, 17)",
            "rgb(31, 27, 24)",
            "rgb(236, 232, 227)"
        ])
    );
    screenshot(client, "19-dark-theme").await;
    crate::devtools::prefer_color_scheme(client, "").await;
    open(
        client,
        &format!("{base}/?query=sandwich_cpu"),
        "the light page",
    )
    .await;
    assert_eq!(
        js(
            client,
            "return getComputedStyle(document.body).backgroundColor"
        )
        .await,
        json!("rgb(250, 250, 247)")
    );
}
