//! Host unit tests, against the in-memory mock.

use crate::__private::parse_json_input;
use crate::kv;
use crate::mock::{self, MockLimits};
use crate::{block, call, call_json, caller, event, output, self_name, BlockInfo, Error};

#[test]
fn scan_encoding_round_trip() {
    let entries = vec![
        (b"a".to_vec(), b"1".to_vec()),
        (Vec::new(), Vec::new()),
        (b"key".to_vec(), vec![0u8; 300]),
    ];
    let encoded = kv::encode_scan(&entries);
    assert_eq!(&encoded[..5], &[1, 0, 0, 0, b'a']);
    assert_eq!(kv::decode_scan(&encoded).unwrap(), entries);
    assert_eq!(kv::decode_scan(&[]).unwrap(), vec![]);
}

#[test]
fn scan_decoding_rejects_malformed() {
    assert!(kv::decode_scan(&[1, 0, 0]).is_none()); // short length
    assert!(kv::decode_scan(&[5, 0, 0, 0, b'a']).is_none()); // short key
    assert!(kv::decode_scan(&[1, 0, 0, 0, b'a']).is_none()); // missing value
    assert!(kv::decode_scan(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]).is_none()); // huge value
}

#[test]
fn kv_get_set_delete() {
    mock::reset();
    assert_eq!(kv::get(b"k"), Ok(None));
    kv::set(b"k", b"v").unwrap();
    assert_eq!(kv::get(b"k"), Ok(Some(b"v".to_vec())));
    kv::set(b"empty", b"").unwrap();
    assert_eq!(kv::get(b"empty"), Ok(Some(Vec::new())));
    assert_eq!(kv::delete(b"k"), Ok(true));
    assert_eq!(kv::delete(b"k"), Ok(false));
    assert_eq!(kv::get(b"k"), Ok(None));
}

#[test]
fn kv_get_retries_with_a_bigger_buffer() {
    mock::reset();
    let small = vec![7u8; kv::INITIAL_VALUE_BUF];
    kv::set(b"small", &small).unwrap();
    let before = mock::host_calls();
    assert_eq!(kv::get(b"small").unwrap().unwrap(), small);
    assert_eq!(mock::host_calls() - before, 1, "fits the first buffer");

    let big: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    kv::set(b"big", &big).unwrap();
    let before = mock::host_calls();
    assert_eq!(kv::get(b"big").unwrap().unwrap(), big);
    assert_eq!(mock::host_calls() - before, 2, "one retry");
}

#[test]
fn kv_limits_are_errors() {
    mock::reset();
    mock::set_limits(MockLimits {
        max_key_bytes: 4,
        max_value_bytes: 8,
        ..MockLimits::default()
    });
    assert_eq!(kv::set(b"12345", b"v"), Err(Error::Limit));
    assert_eq!(kv::set(b"k", &[0; 9]), Err(Error::Limit));
    assert_eq!(kv::get(b"12345"), Err(Error::Limit));
}

#[test]
fn kv_cas_semantics() {
    mock::reset();
    assert_eq!(
        kv::cas(b"k", Some(b"x"), Some(b"1")),
        Ok(false),
        "absent != Some"
    );
    assert_eq!(
        kv::cas(b"k", None, Some(b"1")),
        Ok(true),
        "create if absent"
    );
    assert_eq!(kv::cas(b"k", None, Some(b"2")), Ok(false));
    assert_eq!(kv::cas(b"k", Some(b"1"), Some(b"2")), Ok(true));
    assert_eq!(kv::get(b"k"), Ok(Some(b"2".to_vec())));
    assert_eq!(kv::cas(b"k", Some(b""), None), Ok(false), "empty != absent");
    assert_eq!(kv::cas(b"k", Some(b"2"), None), Ok(true), "delete");
    assert_eq!(kv::get(b"k"), Ok(None));
}

#[test]
fn kv_scan_prefix_after_limit_and_big_buffers() {
    mock::reset();
    for k in ["a", "b/1", "b/2", "b/3", "b/4", "c"] {
        kv::set(k.as_bytes(), k.as_bytes()).unwrap();
    }
    let keys = |v: Vec<(Vec<u8>, Vec<u8>)>| {
        v.into_iter()
            .map(|(k, _)| String::from_utf8(k).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(kv::scan(b"b/", None, 10).unwrap()),
        ["b/1", "b/2", "b/3", "b/4"]
    );
    assert_eq!(
        keys(kv::scan(b"b/", Some(b"b/2"), 10).unwrap()),
        ["b/3", "b/4"]
    );
    assert_eq!(keys(kv::scan(b"b/", None, 2).unwrap()), ["b/1", "b/2"]);
    assert_eq!(keys(kv::scan(b"", None, 100).unwrap()).len(), 6);
    assert_eq!(kv::scan(b"zz", None, 10).unwrap(), vec![]);
    assert_eq!(
        keys(kv::scan_all(b"b/", 3).unwrap()),
        ["b/1", "b/2", "b/3", "b/4"]
    );
    assert_eq!(keys(kv::scan_all(b"b/", 2).unwrap()).len(), 4);

    // Larger than the initial scan buffer: one retry, same result.
    kv::set(b"b/5", &vec![1u8; kv::INITIAL_SCAN_BUF * 3]).unwrap();
    let before = mock::host_calls();
    let all = kv::scan(b"b/", None, 10).unwrap();
    assert_eq!(mock::host_calls() - before, 2);
    assert_eq!(all.len(), 5);
    assert_eq!(all[4].1.len(), kv::INITIAL_SCAN_BUF * 3);

    mock::set_limits(MockLimits {
        max_scan_entries: 3,
        ..MockLimits::default()
    });
    assert_eq!(kv::scan(b"", None, 4), Err(Error::Limit));
}

#[test]
fn kv_json_helpers() {
    mock::reset();
    assert_eq!(kv::get_json::<u64>(b"n"), Ok(None));
    kv::set_json(b"n", &41u64).unwrap();
    assert_eq!(kv::get_json::<u64>(b"n"), Ok(Some(41)));
    kv::set(b"bad", b"not json").unwrap();
    assert_eq!(kv::get_json::<u64>(b"bad"), Err(Error::Invalid));
}

#[test]
fn events_and_outputs() {
    mock::reset();
    mock::set_limits(MockLimits {
        max_events: 2,
        max_outputs: 1,
        max_output_bytes: 4,
        ..MockLimits::default()
    });
    event("a", b"1").unwrap();
    event("b", b"").unwrap();
    assert_eq!(event("c", b""), Err(Error::Limit));
    assert_eq!(
        mock::events(),
        vec![("a".into(), b"1".to_vec()), ("b".into(), vec![])]
    );
    assert_eq!(output(b"12345"), Err(Error::Limit));
    output(b"1234").unwrap();
    assert_eq!(output(b"1"), Err(Error::Limit));
    assert_eq!(mock::outputs(), vec![b"1234".to_vec()]);
}

#[test]
fn context() {
    mock::reset();
    let long = format!("0x{}", "ab".repeat(100));
    mock::set_caller(&long);
    assert_eq!(caller(), long, "longer than the first buffer");
    mock::set_self_name("counter");
    assert_eq!(self_name(), "counter");
    let info = BlockInfo {
        height: 7,
        time_unix_nanos: 1_700_000_000_000_000_000,
        hash: [9; 32],
    };
    mock::set_block(info);
    assert_eq!(block(), info);
}

#[test]
fn block_info_layout() {
    let info = BlockInfo {
        height: 0x0102030405060708,
        time_unix_nanos: 0x1112131415161718,
        hash: core::array::from_fn(|i| i as u8),
    };
    let bytes = info.encode();
    assert_eq!(&bytes[..8], &[8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(
        &bytes[8..16],
        &[0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11]
    );
    assert_eq!(bytes[16], 0);
    assert_eq!(bytes[47], 31);
    assert_eq!(BlockInfo::decode(&bytes), info);
}

#[test]
fn nested_calls() {
    mock::reset();
    mock::register_function("echo", |input| Ok(input.to_vec()));
    mock::register_function("boom", |_| Err(crate::code::CALL_FAILED));
    mock::register_function("deep", |_| Err(crate::code::LIMIT));
    mock::register_function("writer", |input| {
        // A callee may use the SDK too (shared mock state).
        kv::set(b"from-callee", input).map_err(|_| -2)?;
        Ok(b"{\"ok\":true}".to_vec())
    });
    let big = vec![3u8; 10_000];
    assert_eq!(call("echo", &big), Ok(big));
    assert_eq!(call("echo", b""), Ok(vec![]));
    assert_eq!(call("missing", b""), Err(Error::NotFound));
    assert_eq!(call("boom", b""), Err(Error::CallFailed));
    assert_eq!(call("deep", b""), Err(Error::Limit));
    let out: serde_json::Value = call_json("writer", &"x").unwrap();
    assert_eq!(out["ok"], true);
    assert_eq!(kv::get(b"from-callee"), Ok(Some(b"\"x\"".to_vec())));
}

#[test]
fn error_codes() {
    assert_eq!(Error::from_code(-1), Error::NotFound);
    assert_eq!(Error::from_code(-2), Error::Limit);
    assert_eq!(Error::from_code(-3), Error::Invalid);
    assert_eq!(Error::from_code(-4), Error::CallFailed);
    assert_eq!(Error::from_code(-99), Error::Other(-99));
    assert_eq!(Error::Other(-99).to_string(), "host error code -99");
}

#[test]
fn json_input_parsing() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Input {
        #[serde(default)]
        by: u64,
    }
    assert_eq!(
        parse_json_input::<Input>(b"{\"by\": 3}").unwrap(),
        Input { by: 3 }
    );
    assert_eq!(
        parse_json_input::<Input>(b"").unwrap(),
        Input { by: 0 },
        "empty = {{}}"
    );
    assert_eq!(parse_json_input::<Input>(b" \n").unwrap(), Input { by: 0 });
    assert_eq!(
        parse_json_input::<Option<u64>>(b"").unwrap(),
        None,
        "empty = null"
    );
    parse_json_input::<()>(b"").unwrap();
    assert!(parse_json_input::<Input>(b"{\"by\": \"x\"}").is_err());
    assert!(parse_json_input::<u64>(b"").is_err());
}

/// The entry macros must accept every documented handler shape (compile-time check; the
/// generated `main`s are never run here).
#[allow(dead_code)]
mod entry_shapes {
    mod json_plain {
        fn handler(input: u64) -> u64 {
            input + 1
        }
        crate::entry!(handler);
    }
    mod json_result {
        #[derive(serde::Deserialize)]
        struct In {
            by: u64,
        }
        #[derive(serde::Serialize)]
        struct Out {
            count: u64,
        }
        fn handler(input: In) -> Result<Out, String> {
            Ok(Out { count: input.by })
        }
        crate::entry!(handler);
    }
    mod json_result_sdk_error {
        fn handler(_: ()) -> Result<Vec<String>, crate::Error> {
            Err(crate::Error::Limit)
        }
        crate::entry!(handler);
    }
    mod json_unit {
        fn handler(_: ()) {}
        crate::entry!(handler);
    }
    mod raw_plain {
        fn handler(input: Vec<u8>) -> Vec<u8> {
            input
        }
        crate::entry_raw!(handler);
    }
    mod raw_str {
        fn handler(_: Vec<u8>) -> &'static str {
            "hi"
        }
        crate::entry_raw!(handler);
    }
    mod raw_result {
        fn handler(input: Vec<u8>) -> Result<String, std::io::Error> {
            Ok(String::from_utf8_lossy(&input).into_owned())
        }
        crate::entry_raw!(handler);
    }
}
