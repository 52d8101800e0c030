//! Folded stacks (`a;b;c 42`), as the legacy `/ingest` and `brasa` files
//! carry them: parsing never panics, the text Brasa writes parses back to
//! the same stacks, and the profile built from them is valid and keeps
//! their total.

#![no_main]

use brasa_profile::{codec, folded::Folded, validate::validate};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(folded) = Folded::parse(text) else {
        return;
    };
    let again = Folded::parse(&folded.to_text()).expect("written folded text parses");
    assert_eq!(again, folded);
    let profile = folded.to_profile();
    validate(&profile).expect("profile built from folded stacks is valid");
    let decoded = codec::decode_raw(&profile.encode_to_vec()).expect("built profile decodes");
    assert_eq!(decoded, profile);
    assert_eq!(Folded::from_profile(&profile, 0).total(), folded.total());
});
