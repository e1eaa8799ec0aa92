//! Helpers shared by the core's unit tests.

use rmpv::Value;

/// `value` as MessagePack bytes.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, value).expect("encoding into a Vec cannot fail");
    out
}

/// The bytes of `[2, method, params]`.
pub fn notification(method: &str, params: Vec<Value>) -> Vec<u8> {
    encode(&Value::Array(vec![
        2.into(),
        method.into(),
        Value::Array(params),
    ]))
}
