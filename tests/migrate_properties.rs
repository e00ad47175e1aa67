//! Property tests (proptest) for the 1.x key-name parser of the migration: it never splits a
//! name wrongly, and splits every name whose parts hold no separator.

use proptest::prelude::*;
use spots_sessions::migrate::v1::parse_v1_key;

/// Parts built from fragments that make separators likely, inside and across parts.
fn part() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("|".to_string()),
            Just("token:".to_string()),
            Just("ownerId:".to_string()),
            Just("|token:".to_string()),
            Just("|ownerId:".to_string()),
            Just(":".to_string()),
            "[a-zA-Z0-9+/=_-]{0,4}",
        ],
        0..5,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn never_splits_a_name_wrongly(app in part(), token in part(), owner in part()) {
        let name = format!("app:{app}|token:{token}|ownerId:{owner}");
        let clean = |s: &str| !s.contains("|token:") && !s.contains("|ownerId:");
        match parse_v1_key(name.as_bytes()) {
            Ok(k) => {
                // Whatever it returns is the one reading there is.
                prop_assert_eq!(k.app, app.as_bytes());
                prop_assert_eq!(k.token, token.as_bytes());
                prop_assert_eq!(k.owner, owner.as_bytes());
            }
            Err(reason) => {
                // Refused only when a part does contain a separator.
                prop_assert!(!(clean(&app) && clean(&token) && clean(&owner)), "{}: {}", name, reason);
                prop_assert!(reason.starts_with("ambiguous"), "{}", reason);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(name in proptest::collection::vec(any::<u8>(), 0..80)) {
        let _ = parse_v1_key(&name);
    }
}
