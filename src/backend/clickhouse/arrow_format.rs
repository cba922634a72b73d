//! The modern path: ClickHouse's `ArrowStream` output, decoded incrementally as bytes
//! arrive (arrow-ipc's `StreamDecoder`), then each column converted to the type the
//! ClickHouse column is presented as (`types`). ClickHouse writes some types as bare
//! integers or bytes (DateTime as UInt32 seconds, Enum as its number, IPv4 as UInt32,
//! UUID/IPv6/Int128 as fixed-size binary), so conversion needs the ClickHouse type of
//! every column, which the caller obtains with DESCRIBE.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Builder, FixedSizeBinaryArray, ListArray, MapArray,
    StringBuilder, StructArray, TimestampMicrosecondArray,
};
use arrow::buffer::Buffer;
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Fields, Int16Type, Int8Type, Schema, SchemaRef, UInt16Type, UInt32Type,
};
use arrow::ipc::reader::StreamDecoder;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::types::{ChType, UTC};
use crate::error::{Error, Result};

/// Feeds response chunks in; takes decoded batches out.
pub struct ArrowDecoder {
    decoder: StreamDecoder,
    pending: Buffer,
}

impl ArrowDecoder {
    pub fn new() -> Self {
        ArrowDecoder {
            decoder: StreamDecoder::new(),
            pending: Buffer::from(Vec::<u8>::new()),
        }
    }

    pub fn push(&mut self, bytes: bytes::Bytes) {
        let incoming = Buffer::from(bytes);
        self.pending = if self.pending.is_empty() {
            incoming
        } else {
            let mut joined = Vec::with_capacity(self.pending.len() + incoming.len());
            joined.extend_from_slice(&self.pending);
            joined.extend_from_slice(&incoming);
            Buffer::from(joined)
        };
    }

    /// The next complete batch in what has been pushed, if any.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        self.decoder
            .decode(&mut self.pending)
            .map_err(|e| decode_error(e, &self.pending))
    }

    pub fn finish(&mut self) -> Result<()> {
        self.decoder
            .finish()
            .map_err(|e| decode_error(e, &self.pending))
    }
}

/// A ClickHouse exception written mid-stream arrives where the decoder expects a
/// message; show the server's text rather than a framing error.
fn decode_error(e: arrow::error::ArrowError, pending: &Buffer) -> Error {
    let text = String::from_utf8_lossy(pending.as_slice());
    match text.find("Code:") {
        Some(at) => super::server_error(text[at..].trim()),
        None => Error::internal(format!("ClickHouse ArrowStream: {e}")),
    }
}

/// Converts one decoded batch to the presented schema.
pub fn present_batch(
    batch: &RecordBatch,
    types: &[ChType],
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    if batch.num_columns() != types.len() {
        return Err(Error::internal(format!(
            "ClickHouse returned {} columns where DESCRIBE announced {}",
            batch.num_columns(),
            types.len()
        )));
    }
    let columns = batch
        .columns()
        .iter()
        .zip(types)
        .map(|(column, ty)| present(column, ty))
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .map_err(Error::internal)
}

pub fn presented_schema(names: &[String], types: &[ChType]) -> SchemaRef {
    Arc::new(Schema::new(
        names
            .iter()
            .zip(types)
            .map(|(name, ty)| ty.field(name.clone()))
            .collect::<Vec<_>>(),
    ))
}

fn cast_to(array: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    if array.data_type() == to {
        return Ok(array.clone());
    }
    cast(array, to).map_err(|e| {
        Error::internal(format!(
            "ClickHouse column of Arrow type {} cannot be read as {to}: {e}",
            array.data_type()
        ))
    })
}

/// One column as ClickHouse sent it → as switchyard presents `ty`.
pub fn present(array: &ArrayRef, ty: &ChType) -> Result<ArrayRef> {
    let target = ty.arrow_type();
    match (ty.base(), array.data_type()) {
        (ChType::DateTime(_), DataType::UInt32 | DataType::Int64 | DataType::Int32) => {
            let seconds = cast_to(array, &DataType::Int64)?;
            let micros: TimestampMicrosecondArray = seconds
                .as_primitive::<arrow::datatypes::Int64Type>()
                .unary(|s| s * 1_000_000);
            Ok(Arc::new(micros.with_timezone(UTC)))
        }
        (ChType::Date, DataType::UInt16) => {
            let days = cast_to(array, &DataType::Int32)?;
            cast_to(&days, &DataType::Date32)
        }
        (ChType::Enum(labels), DataType::Int8 | DataType::Int16) => {
            let numbers: Vec<Option<i16>> = match array.data_type() {
                DataType::Int8 => array
                    .as_primitive::<Int8Type>()
                    .iter()
                    .map(|v| v.map(i16::from))
                    .collect(),
                _ => array.as_primitive::<Int16Type>().iter().collect(),
            };
            let mut out = StringBuilder::with_capacity(numbers.len(), numbers.len() * 8);
            for number in numbers {
                match number {
                    None => out.append_null(),
                    Some(n) => match labels.iter().find(|(v, _)| *v == n) {
                        Some((_, label)) => out.append_value(label),
                        None => out.append_value(n.to_string()),
                    },
                }
            }
            Ok(Arc::new(out.finish()))
        }
        (ChType::Ipv4, DataType::UInt32) => Ok(text_of(
            array
                .as_primitive::<UInt32Type>()
                .iter()
                .map(|v| v.map(|v| Ipv4Addr::from(v).to_string())),
        )),
        (ChType::Ipv4, DataType::UInt16) => {
            Ok(text_of(array.as_primitive::<UInt16Type>().iter().map(
                |v| v.map(|v| Ipv4Addr::from(u32::from(v)).to_string()),
            )))
        }
        (ChType::Ipv6, DataType::FixedSizeBinary(16)) => {
            Ok(text_of(fixed(array)?.iter().map(|v| {
                v.map(|b| Ipv6Addr::from(<[u8; 16]>::try_from(b).expect("16 bytes")).to_string())
            })))
        }
        (ChType::Uuid, DataType::FixedSizeBinary(16)) => {
            Ok(text_of(fixed(array)?.iter().map(|v| v.map(uuid_text))))
        }
        (ChType::FixedString(_), DataType::FixedSizeBinary(_) | DataType::Binary) => {
            let texts: Vec<Option<String>> = match array.data_type() {
                DataType::Binary => array
                    .as_binary::<i32>()
                    .iter()
                    .map(|v| v.map(fixed_string_text))
                    .collect(),
                _ => fixed(array)?
                    .iter()
                    .map(|v| v.map(fixed_string_text))
                    .collect(),
            };
            Ok(text_of(texts.into_iter()))
        }
        (ChType::Int { bits: 128, signed }, DataType::FixedSizeBinary(16)) => {
            let mut out = Decimal128Builder::with_capacity(array.len());
            for value in fixed(array)?.iter() {
                match value {
                    None => out.append_null(),
                    Some(b) => {
                        let bytes = <[u8; 16]>::try_from(b).expect("16 bytes");
                        let value = if *signed {
                            i128::from_le_bytes(bytes)
                        } else {
                            i128::try_from(u128::from_le_bytes(bytes)).map_err(|_| {
                                Error::internal("UInt128 value beyond numeric(38,0)")
                            })?
                        };
                        if value.unsigned_abs() >= 10u128.pow(38) {
                            return Err(Error::internal(
                                "128-bit integer beyond numeric(38,0) precision",
                            ));
                        }
                        out.append_value(value);
                    }
                }
            }
            Ok(Arc::new(
                out.finish()
                    .with_precision_and_scale(38, 0)
                    .map_err(Error::internal)?,
            ))
        }
        (ChType::Int { bits: 256, signed }, DataType::FixedSizeBinary(32)) => {
            let signed = *signed;
            Ok(text_of(
                fixed(array)?
                    .iter()
                    .map(|v| v.map(|b| wide_int_text(b, signed))),
            ))
        }
        (ChType::Array(element), DataType::List(_)) => {
            let list = array.as_list::<i32>();
            let values = present(list.values(), element)?;
            let field = Arc::new(element.field("item"));
            Ok(Arc::new(
                ListArray::try_new(field, list.offsets().clone(), values, list.nulls().cloned())
                    .map_err(Error::internal)?,
            ))
        }
        (ChType::Map(key, value), DataType::Map(..)) => {
            let map = array
                .as_any()
                .downcast_ref::<MapArray>()
                .ok_or_else(|| Error::internal("map column is not a MapArray"))?;
            let keys = present(map.keys(), key)?;
            let values = present(map.values(), value)?;
            let DataType::Map(entries_field, sorted) = &target else {
                unreachable!("Map presents as Map")
            };
            let DataType::Struct(entry_fields) = entries_field.data_type() else {
                unreachable!("map entries are a struct")
            };
            let entries = StructArray::try_new(entry_fields.clone(), vec![keys, values], None)
                .map_err(Error::internal)?;
            Ok(Arc::new(
                MapArray::try_new(
                    entries_field.clone(),
                    map.offsets().clone(),
                    entries,
                    map.nulls().cloned(),
                    *sorted,
                )
                .map_err(Error::internal)?,
            ))
        }
        (ChType::Tuple(elements), DataType::Struct(_)) => {
            let tuple = array.as_struct();
            let DataType::Struct(fields) = &target else {
                unreachable!("Tuple presents as Struct")
            };
            let columns = tuple
                .columns()
                .iter()
                .zip(elements)
                .map(|(column, (_, ty))| present(column, ty))
                .collect::<Result<Vec<_>>>()?;
            Ok(Arc::new(
                StructArray::try_new(
                    Fields::from(fields.to_vec()),
                    columns,
                    tuple.nulls().cloned(),
                )
                .map_err(Error::internal)?,
            ))
        }
        (_, DataType::Dictionary(_, value)) => {
            let plain = cast_to(array, value)?;
            present(&plain, ty)
        }
        (_, DataType::Timestamp(_, _)) if matches!(target, DataType::Timestamp(..)) => {
            // Same instant whatever zone ClickHouse labelled it with.
            let DataType::Timestamp(unit, _) = &target else {
                unreachable!()
            };
            let naive = cast_to(array, &DataType::Timestamp(*unit, None))?;
            cast_to(&naive, &target)
        }
        _ => cast_to(array, &target),
    }
}

fn fixed(array: &ArrayRef) -> Result<&FixedSizeBinaryArray> {
    array
        .as_any()
        .downcast_ref::<FixedSizeBinaryArray>()
        .ok_or_else(|| Error::internal("expected a fixed-size binary column"))
}

fn text_of(values: impl Iterator<Item = Option<String>>) -> ArrayRef {
    let mut out = StringBuilder::new();
    for value in values {
        match value {
            Some(v) => out.append_value(v),
            None => out.append_null(),
        }
    }
    Arc::new(out.finish())
}

/// `8-4-4-4-12` lowercase hex, bytes in the order ClickHouse's Arrow output gives them.
pub fn uuid_text(b: &[u8]) -> String {
    let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
    if hex.len() != 32 {
        return hex;
    }
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// FixedString without its NUL padding (Postgres text cannot hold NUL).
pub fn fixed_string_text(b: &[u8]) -> String {
    let end = b.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// A little-endian 256-bit integer as decimal text.
fn wide_int_text(bytes: &[u8], signed: bool) -> String {
    let negative = signed && bytes.last().is_some_and(|b| b & 0x80 != 0);
    // Two's complement magnitude, as little-endian u32 limbs.
    let mut limbs: Vec<u32> = bytes
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if negative {
        let mut carry = 1u64;
        for limb in &mut limbs {
            let v = u64::from(!*limb) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
    }
    let mut digits = Vec::new();
    while limbs.iter().any(|&l| l != 0) {
        let mut remainder = 0u64;
        for limb in limbs.iter_mut().rev() {
            let value = (remainder << 32) | u64::from(*limb);
            *limb = (value / 10) as u32;
            remainder = value % 10;
        }
        digits.push(b'0' + remainder as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    if negative {
        digits.push(b'-');
    }
    digits.reverse();
    String::from_utf8(digits).expect("ascii digits")
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int8Array, UInt32Array, UInt64Array};
    use arrow::datatypes::TimeUnit;

    fn timestamp_micros_utc() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
    }

    #[test]
    fn converts_the_types_clickhouse_sends_as_numbers() {
        let seconds: ArrayRef = Arc::new(UInt32Array::from(vec![Some(1_704_164_645), None]));
        let ts = present(&seconds, &ChType::parse("Nullable(DateTime)").unwrap()).unwrap();
        assert_eq!(ts.data_type(), &timestamp_micros_utc());
        assert_eq!(
            ts.as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .value(0),
            1_704_164_645_000_000
        );
        assert!(ts.is_null(1));

        let enums: ArrayRef = Arc::new(Int8Array::from(vec![1, 2]));
        let labels = present(
            &enums,
            &ChType::parse("Enum8('ok' = 1, 'error' = 2)").unwrap(),
        )
        .unwrap();
        assert_eq!(labels.as_string::<i32>().value(1), "error");

        let ip: ArrayRef = Arc::new(UInt32Array::from(vec![0x0102_0304]));
        let ip = present(&ip, &ChType::Ipv4).unwrap();
        assert_eq!(ip.as_string::<i32>().value(0), "1.2.3.4");

        let big: ArrayRef = Arc::new(UInt64Array::from(vec![u64::MAX]));
        let big = present(&big, &ChType::parse("UInt64").unwrap()).unwrap();
        assert_eq!(big.data_type(), &DataType::Decimal128(20, 0));
        assert_eq!(
            big.as_primitive::<arrow::datatypes::Decimal128Type>()
                .value(0),
            i128::from(u64::MAX)
        );
    }

    #[test]
    fn text_helpers() {
        assert_eq!(fixed_string_text(b"ab\0\0"), "ab");
        assert_eq!(
            uuid_text(&[
                0x61, 0xf0, 0xc4, 0x04, 0x5c, 0xb3, 0x11, 0xe7, 0x90, 0x7b, 0xa6, 0x00, 0x6a, 0xd3,
                0xdb, 0xa0
            ]),
            "61f0c404-5cb3-11e7-907b-a6006ad3dba0"
        );
        let mut minus_one = [0xffu8; 32];
        assert_eq!(wide_int_text(&minus_one, true), "-1");
        minus_one = [0; 32];
        minus_one[0] = 7;
        assert_eq!(wide_int_text(&minus_one, false), "7");
    }
}
