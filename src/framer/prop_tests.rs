//! Property tests: the framer against rmpv's encoder on generated values,
//! split at arbitrary points, and on arbitrary bytes. Bounded (256 cases
//! each) so they run in `npm test`.

use super::*;
use proptest::prelude::*;
use rmpv::Value;

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f32>().prop_map(Value::F32),
        any::<f64>().prop_map(Value::F64),
        ".{0,40}".prop_map(Value::from),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Value::Binary),
        (any::<i8>(), proptest::collection::vec(any::<u8>(), 0..20))
            .prop_map(|(t, d)| Value::Ext(t, d)),
    ];
    leaf.prop_recursive(6, 200, 20, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..20).prop_map(Value::Array),
            proptest::collection::vec((inner.clone(), inner), 0..10).prop_map(Value::Map),
        ]
    })
}

fn notification(v: Value) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(
        &mut out,
        &Value::Array(vec![2.into(), "m".into(), Value::Array(vec![v])]),
    )
    .unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn frames_any_value_whole_and_in_pieces(v in value(), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        let msg = notification(v);
        prop_assert_eq!(Framer::new(Limits::default()).next_frame(&msg).unwrap(), Some(msg.len()));
        let mut points: Vec<usize> = cuts.iter().map(|c| c % msg.len()).collect();
        points.sort_unstable();
        let mut f = Framer::new(Limits::default());
        for p in points {
            prop_assert_eq!(f.next_frame(&msg[..p]).unwrap(), None);
        }
        prop_assert_eq!(f.next_frame(&msg).unwrap(), Some(msg.len()));
    }

    #[test]
    fn frames_back_to_back_messages(a in value(), b in value()) {
        let (first, second) = (notification(a), notification(b));
        let both = [first.clone(), second.clone()].concat();
        let mut f = Framer::new(Limits::default());
        prop_assert_eq!(f.next_frame(&both).unwrap(), Some(first.len()));
        prop_assert_eq!(f.next_frame(&both[first.len()..]).unwrap(), Some(second.len()));
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut framed = Vec::new();
        let mut f = Framer::new(Limits { max_message_size: 4096, max_depth: 32 });
        let mut rest: &[u8] = &bytes;
        while let Ok(Some(n)) = f.next_frame(rest) {
            prop_assert!(n > 0 && n <= rest.len());
            framed.push(n);
            let _ = crate::message::check(&rest[..n]);
            rest = &rest[n..];
        }
    }

    #[test]
    fn a_framed_prefix_is_exactly_one_rmpv_value(bytes in proptest::collection::vec(any::<u8>(), 1..256)) {
        let mut with_array = vec![0x93];
        with_array.extend(bytes);
        if let Ok(Some(n)) = Framer::new(Limits::default()).next_frame(&with_array) {
            let mut rd = &with_array[..n];
            prop_assert!(rmpv::decode::read_value(&mut rd).is_ok());
            prop_assert!(rd.is_empty());
        }
    }
}
