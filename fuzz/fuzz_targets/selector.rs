//! Series selectors (`process_cpu{service="api",env=~"p.*"}`) as every
//! query endpoint reads them: parsing never panics or recurses without
//! end, surrounding white space changes nothing, and the matchers it
//! returns can match.

#![no_main]

use brasa_store::labels::Labels;
use brasa_web::selector::parse_selector;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse_selector(text);
    let padded = parse_selector(&format!(" {text}\n"));
    assert_eq!(
        parsed.is_ok(),
        padded.is_ok(),
        "white space changed the verdict"
    );
    let Ok(matchers) = parsed else {
        return;
    };
    assert_eq!(padded.unwrap().len(), matchers.len());
    let labels = Labels::new([("__name__", "process_cpu"), ("service", "api")]).unwrap();
    for matcher in &matchers {
        matcher.matches(&labels);
    }
});
