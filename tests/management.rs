//! Property tests (proptest) for the pure parts of session management that hostile input
//! reaches: session id text, the management limits, and the list reply decoding. None may panic.

use fred::prelude::Value;
use proptest::prelude::*;
use spots_sessions::keys::{parse_session_id, session_id_text, ID_TEXT_LEN, OWNER_FIELD};
use spots_sessions::manage::{decode_list, list_json};
use spots_sessions::validate::{max_age, max_sessions, MAX_SESSIONS_LIMIT};

proptest! {
    #[test]
    fn session_id_text_round_trips(id in any::<[u8; 16]>()) {
        let text = session_id_text(&id);
        prop_assert_eq!(text.len(), ID_TEXT_LEN);
        prop_assert_eq!(parse_session_id(text.as_bytes()), Some(id));
    }

    #[test]
    fn only_canonical_ids_parse(text in proptest::collection::vec(any::<u8>(), 0..40)) {
        // Whatever parses must print back to exactly the same text: one id, one spelling.
        if let Some(id) = parse_session_id(&text) {
            let printed = session_id_text(&id);
            prop_assert_eq!(printed.as_bytes(), &text[..]);
        }
    }

    #[test]
    fn max_sessions_accepts_exactly_whole_numbers_in_range(n in any::<f64>()) {
        let ok = n.is_finite() && n.fract() == 0.0 && (1.0..=MAX_SESSIONS_LIMIT as f64).contains(&n);
        prop_assert_eq!(max_sessions(n).is_ok(), ok);
        if let Err(e) = max_sessions(n) {
            prop_assert!(e.to_string().starts_with("maxSessions:"));
        }
    }

    #[test]
    fn max_age_is_never_below_duration(secs in 1u64..100_000, duration in 1u64..100_000) {
        prop_assert_eq!(max_age(secs as f64, Some(duration)).is_ok(), secs >= duration);
    }

    #[test]
    fn list_decoding_never_panics(items in proptest::collection::vec(
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(|b| Value::Bytes(b.into())),
            any::<i64>().prop_map(Value::Integer),
            Just(Value::Null),
            Just(Value::Array(vec![Value::Bytes(OWNER_FIELD.to_vec().into()), Value::Bytes("o".into())])),
        ],
        0..12,
    )) {
        if let Ok(list) = decode_list(&Value::Array(items)) {
            let json = list_json(list, None);
            prop_assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok(), "{}", json);
        }
    }
}
