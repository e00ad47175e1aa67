//! Property tests (proptest) for the pure parts that hostile input reaches first: key encoding,
//! lossless name conversion, argument validation and the data splitter. None may panic, and the
//! encodings must stay injective.

use proptest::prelude::*;
use spots_sessions::data::{session_json, split_object};
use spots_sessions::keys::{escape, session_id, unescape, AppKeys};
use spots_sessions::text::{push_json_string, wtf8_from_utf16};
use spots_sessions::token::parse_token_size;
use spots_sessions::validate::{duration, MAX_DURATION_SECS};

proptest! {
    #[test]
    fn escape_round_trips_and_hides_separators(name in proptest::collection::vec(any::<u8>(), 0..64)) {
        let e = escape(&name);
        let hides_separators = !e.iter().any(|b| b":{}".contains(b));
        prop_assert!(hides_separators);
        prop_assert_eq!(unescape(&e), Some(name));
    }

    #[test]
    fn distinct_names_give_distinct_keys(
        a1 in "[a-z:\\x7b\\x7d\\\\.|*]{0,6}", o1 in "[a-z:\\x7b\\x7d\\\\.|*]{0,6}",
        a2 in "[a-z:\\x7b\\x7d\\\\.|*]{0,6}", o2 in "[a-z:\\x7b\\x7d\\\\.|*]{0,6}",
    ) {
        let k1 = AppKeys::new(a1.as_bytes()).index_for_escaped(&escape(o1.as_bytes()));
        let k2 = AppKeys::new(a2.as_bytes()).index_for_escaped(&escape(o2.as_bytes()));
        prop_assert_eq!(k1 == k2, (a1.clone(), o1) == (a2.clone(), o2));
        let id = session_id(b"token");
        let s1 = AppKeys::new(a1.as_bytes()).session(&id);
        let s2 = AppKeys::new(a2.as_bytes()).session(&id);
        prop_assert_eq!(s1 == s2, a1 == a2);
    }

    #[test]
    fn wtf8_is_injective_and_utf8_for_valid_strings(
        a in proptest::collection::vec(any::<u16>(), 0..16),
        b in proptest::collection::vec(any::<u16>(), 0..16),
        s in "\\PC{0,16}",
    ) {
        prop_assert_eq!(wtf8_from_utf16(&a) == wtf8_from_utf16(&b), a == b);
        let units: Vec<u16> = s.encode_utf16().collect();
        prop_assert_eq!(wtf8_from_utf16(&units), s.as_bytes().to_vec());
    }

    #[test]
    fn json_strings_parse_back(s in "\\PC{0,32}", raw in proptest::collection::vec(any::<u8>(), 0..32)) {
        let mut out = String::new();
        push_json_string(&mut out, s.as_bytes());
        prop_assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
        // Arbitrary bytes never produce invalid JSON. (serde_json refuses the `\udXXX` escapes of
        // lone surrogates that JSON.parse accepts, so those are checked without it.)
        let mut out = String::new();
        push_json_string(&mut out, &raw);
        let parses = serde_json::from_str::<serde_json::Value>(&out).is_ok();
        let lone_surrogate = out.contains("\\ud");
        prop_assert!(parses || lone_surrogate, "{}", out);
    }

    #[test]
    fn durations_never_panic_and_accept_exactly_whole_positive_seconds(secs in any::<f64>()) {
        let ok = secs.is_finite() && secs.fract() == 0.0 && secs >= 1.0 && secs <= MAX_DURATION_SECS as f64;
        let result = duration(secs);
        prop_assert_eq!(result.is_ok(), ok);
        if let Err(e) = result {
            prop_assert!(e.to_string().starts_with("duration:"));
        }
    }

    #[test]
    fn token_sizes_never_panic(size in any::<f64>()) {
        let _ = parse_token_size(size);
    }

    #[test]
    fn the_splitter_never_panics_on_garbage(text in "\\PC{0,64}") {
        let _ = split_object(&text);
    }

    #[test]
    fn objects_split_and_reassemble_to_the_same_json(
        map in proptest::collection::btree_map("\\PC{0,8}", prop_oneof![
            any::<i64>().prop_map(serde_json::Value::from),
            any::<bool>().prop_map(serde_json::Value::from),
            "\\PC{0,8}".prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
        ], 0..8)
    ) {
        let object: serde_json::Map<String, serde_json::Value> = map.into_iter().collect();
        let text = serde_json::to_string(&object).unwrap();
        let fields = split_object(&text).unwrap();
        prop_assert_eq!(fields.len(), object.len());
        let rebuilt = session_json(b"owner", fields.iter().map(|(k, v)| (&k[..], v.get().as_bytes()))).unwrap();
        let back: serde_json::Value = serde_json::from_str(&rebuilt).unwrap();
        prop_assert_eq!(&back[1], &serde_json::Value::Object(object));
        prop_assert_eq!(&back[0], "owner");
    }
}
