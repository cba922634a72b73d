//! Arrow → Postgres wire: RowDescription fields and DataRows, text or binary per
//! column. Row values are encoded by arrow-pg; this module adapts the Arrow types it
//! does not cover and turns a batch stream into a row stream without buffering.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use arrow::array::{Array, ArrayRef, MapArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use futures::{Stream, StreamExt};
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::api::Type;
use pgwire::error::PgWireResult;
use pgwire::messages::data::DataRow;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::to_pg_error;
use crate::backend::ResultStream;
use crate::error::{Error, Result};

/// The schema as the client will see it: types arrow-pg cannot encode are
/// presented as text (maps as JSON objects).
pub fn client_schema(schema: &SchemaRef) -> SchemaRef {
    if !schema.fields().iter().any(|f| needs_text(f.data_type())) {
        return schema.clone();
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if needs_text(f.data_type()) {
                Field::new(f.name(), DataType::Utf8, true)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn needs_text(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Map(..))
}

pub fn pg_fields(schema: &SchemaRef, format: &Format) -> Result<Vec<FieldInfo>> {
    let fields =
        arrow_pg::datatypes::arrow_schema_to_pg_fields(&client_schema(schema), format, None)
            .map_err(|e| Error::internal(format!("cannot present result: {e}")))?;
    Ok(fields
        .into_iter()
        .zip(schema.fields())
        .map(|(info, field)| {
            if is_uuid(field) {
                FieldInfo::new(info.name().into(), None, None, Type::UUID, info.format())
            } else {
                info
            }
        })
        .collect())
}

/// Arrow's canonical UUID extension: 16 bytes, tagged in the field metadata.
/// Binary format sends the 16 bytes as they are, which is Postgres' uuid binary form.
fn is_uuid(field: &Field) -> bool {
    matches!(field.data_type(), DataType::FixedSizeBinary(16))
        && field.extension_type_name() == Some("arrow.uuid")
}

fn uuids_as_text(column: &ArrayRef) -> Result<ArrayRef> {
    let bytes = column
        .as_any()
        .downcast_ref::<arrow::array::FixedSizeBinaryArray>()
        .ok_or_else(|| Error::internal("uuid column is not FixedSizeBinary"))?;
    let mut out = StringBuilder::with_capacity(bytes.len(), bytes.len() * 36);
    for value in bytes.iter() {
        match value.and_then(|b| uuid::Uuid::from_slice(b).ok()) {
            Some(id) => out.append_value(id.hyphenated().to_string()),
            None => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Adapts a batch for arrow-pg: maps become JSON text, and text-format timestamps
/// are pre-rendered the way Postgres prints them (arrow-pg always prints six
/// fractional digits; Postgres trims them).
fn to_client_batch(
    batch: RecordBatch,
    schema: &SchemaRef,
    fields: &[FieldInfo],
) -> Result<RecordBatch> {
    let adapt = |column: &ArrayRef, field: &FieldInfo| match column.data_type() {
        DataType::Map(..) => map_as_json(column).map(Some),
        DataType::FixedSizeBinary(16) if *field.datatype() == Type::UUID => {
            if field.format() == FieldFormat::Text {
                uuids_as_text(column).map(Some)
            } else {
                // arrow-pg encodes variable-length binary as its raw bytes, which
                // is uuid's binary wire form.
                arrow::compute::cast(column, &DataType::Binary)
                    .map(Some)
                    .map_err(Error::internal)
            }
        }
        DataType::Timestamp(_, tz) if field.format() == FieldFormat::Text => {
            timestamps_as_text(column, tz.is_some()).map(Some)
        }
        _ => Ok(None),
    };
    let mut columns = Vec::with_capacity(batch.num_columns());
    let mut changed = false;
    for (column, field) in batch.columns().iter().zip(fields) {
        match adapt(column, field)? {
            Some(adapted) => {
                changed = true;
                columns.push(adapted);
            }
            None => columns.push(column.clone()),
        }
    }
    if !changed {
        return Ok(batch);
    }
    let schema = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .zip(&columns)
            .map(|(f, c)| Field::new(f.name(), c.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    RecordBatch::try_new(schema, columns).map_err(Error::internal)
}

/// `2024-05-01 12:34:56.5+00`: Postgres' ISO output, fraction only when non-zero.
fn timestamps_as_text(column: &ArrayRef, with_zone: bool) -> Result<ArrayRef> {
    let micros = arrow::compute::cast(
        column,
        &DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
    )
    .map_err(Error::internal)?;
    let micros = micros
        .as_any()
        .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
        .ok_or_else(|| Error::internal("timestamp cast"))?;
    let mut out = StringBuilder::with_capacity(micros.len(), micros.len() * 26);
    let mut text = String::with_capacity(32);
    for value in micros.iter() {
        let Some(value) = value else {
            out.append_null();
            continue;
        };
        text.clear();
        push_timestamp(&mut text, value)?;
        if with_zone {
            text.push_str("+00");
        }
        out.append_value(&text);
    }
    Ok(Arc::new(out.finish()))
}

/// Appends `value` (µs since the epoch, UTC) as `YYYY-MM-DD HH:MM:SS[.ffffff]`, the
/// fraction without trailing zeros. Digits are pushed by hand: this runs once per value
/// of every timestamp column, and chrono's `format` costs several times more.
fn push_timestamp(out: &mut String, value: i64) -> Result<()> {
    use chrono::{Datelike, Timelike};
    let (secs, frac) = (value.div_euclid(1_000_000), value.rem_euclid(1_000_000));
    let time = chrono::DateTime::from_timestamp(secs, frac as u32 * 1000)
        .ok_or_else(|| Error::internal(format!("timestamp out of range: {value}µs")))?;
    let year = time.year();
    if !(0..=9999).contains(&year) {
        out.push_str(&time.format("%Y-%m-%d %H:%M:%S").to_string());
    } else {
        push_digits(out, year as u32, 4);
        out.push('-');
        push_digits(out, time.month(), 2);
        out.push('-');
        push_digits(out, time.day(), 2);
        out.push(' ');
        push_digits(out, time.hour(), 2);
        out.push(':');
        push_digits(out, time.minute(), 2);
        out.push(':');
        push_digits(out, time.second(), 2);
    }
    if frac != 0 {
        out.push('.');
        let mut frac = frac as u32;
        let mut width = 6;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        push_digits(out, frac, width);
    }
    Ok(())
}

/// `value` in exactly `width` decimal digits, zero-padded.
fn push_digits(out: &mut String, value: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = (value / 10u32.pow(place)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

/// `{"k": v, …}`: string keys and values are JSON strings, others print as Arrow displays them.
fn map_as_json(column: &ArrayRef) -> Result<ArrayRef> {
    let map = column
        .as_any()
        .downcast_ref::<MapArray>()
        .ok_or_else(|| Error::internal("map column is not a MapArray"))?;
    let options = FormatOptions::default().with_null("null");
    let keys = ArrayFormatter::try_new(map.keys().as_ref(), &options).map_err(Error::internal)?;
    let values =
        ArrayFormatter::try_new(map.values().as_ref(), &options).map_err(Error::internal)?;
    let quote_values = matches!(
        map.values().data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    let mut out = StringBuilder::new();
    let offsets = map.value_offsets();
    for row in 0..map.len() {
        if map.is_null(row) {
            out.append_null();
            continue;
        }
        let mut text = String::from("{");
        for entry in offsets[row] as usize..offsets[row + 1] as usize {
            if entry > offsets[row] as usize {
                text.push_str(", ");
            }
            push_json_string(&mut text, &keys.value(entry).to_string());
            text.push_str(": ");
            let value = values.value(entry).to_string();
            if quote_values && !map.values().is_null(entry) {
                push_json_string(&mut text, &value);
            } else {
                text.push_str(&value);
            }
        }
        text.push('}');
        out.append_value(text);
    }
    Ok(Arc::new(out.finish()))
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Encodes batches into DataRows as the client pulls them; a cancel request ends
/// the stream with SQLSTATE 57014 even while a batch is being computed.
pub fn row_stream(
    result: ResultStream,
    fields: Arc<Vec<FieldInfo>>,
    cancel: CancellationToken,
) -> impl Stream<Item = PgWireResult<DataRow>> + Send + 'static {
    let schema = client_schema(&result.schema);
    let batches = Cancellable {
        inner: result.batches,
        cancelled: Box::pin(cancel.cancelled_owned()),
        done: false,
    };
    batches.flat_map(move |batch| {
        let rows: Box<dyn Iterator<Item = PgWireResult<DataRow>> + Send> =
            match batch.and_then(|b| to_client_batch(b, &schema, &fields)) {
                Ok(batch) => arrow_pg::datatypes::encode_recordbatch(fields.clone(), batch),
                Err(e) => Box::new(std::iter::once(Err(to_pg_error(&e)))),
            };
        futures::stream::iter(rows)
    })
}

struct Cancellable<S> {
    inner: S,
    cancelled: Pin<Box<WaitForCancellationFutureOwned>>,
    done: bool,
}

impl<S> Stream for Cancellable<S>
where
    S: Stream<Item = Result<RecordBatch>> + Unpin,
{
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.cancelled.as_mut().poll(cx).is_ready() {
            self.done = true;
            return Poll::Ready(Some(Err(Error::Cancelled)));
        }
        let next = self.inner.poll_next_unpin(cx);
        if let Poll::Ready(None | Some(Err(_))) = &next {
            self.done = true;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{MapBuilder, StringBuilder};

    #[test]
    fn timestamps_print_like_postgres() {
        let column: ArrayRef = Arc::new(
            arrow::array::TimestampMillisecondArray::from(vec![
                Some(1_714_566_896_000),
                Some(1_714_566_896_120),
                None,
            ])
            .with_timezone("UTC"),
        );
        let text = timestamps_as_text(&column, true).unwrap();
        let text = text
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        assert_eq!(text.value(0), "2024-05-01 12:34:56+00");
        assert_eq!(text.value(1), "2024-05-01 12:34:56.12+00");
        assert!(text.is_null(2));

        let column: ArrayRef = Arc::new(arrow::array::TimestampMicrosecondArray::from(vec![
            -1,
            1,
            253_402_300_800_000_000,
        ]));
        let text = timestamps_as_text(&column, false).unwrap();
        let text = text
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        assert_eq!(text.value(0), "1969-12-31 23:59:59.999999");
        assert_eq!(text.value(1), "1970-01-01 00:00:00.000001");
        assert_eq!(text.value(2), "+10000-01-01 00:00:00");
    }

    fn uuid_batch() -> (SchemaRef, RecordBatch) {
        let field = Field::new("id", DataType::FixedSizeBinary(16), true)
            .with_metadata([("ARROW:extension:name".to_owned(), "arrow.uuid".to_owned())].into());
        let schema = Arc::new(Schema::new(vec![field]));
        let id = uuid::Uuid::parse_str("0197209f-3f7e-7a3c-9d2e-5f0c6a1b2c3d").unwrap();
        let column = arrow::array::FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            [Some(id.as_bytes().to_vec()), None].into_iter(),
            16,
        )
        .unwrap();
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(column)]).unwrap();
        (schema, batch)
    }

    async fn encoded_values(format: Format) -> Vec<Option<Vec<u8>>> {
        let (schema, batch) = uuid_batch();
        let fields = Arc::new(pg_fields(&schema, &format).unwrap());
        assert_eq!(*fields[0].datatype(), Type::UUID);
        let result = ResultStream {
            schema,
            batches: Box::pin(futures::stream::iter([Ok(batch)])),
        };
        // take(): a row that fails to encode would otherwise repeat forever.
        let rows: Vec<_> = row_stream(result, fields, CancellationToken::new())
            .take(2)
            .collect()
            .await;
        rows.into_iter()
            .map(|row| {
                let row = row.unwrap();
                let data = row.data.to_vec();
                let len = i32::from_be_bytes(data[0..4].try_into().unwrap());
                (len >= 0).then(|| data[4..4 + len as usize].to_vec())
            })
            .collect()
    }

    #[tokio::test]
    async fn uuids_encode_as_postgres_uuid() {
        let text = encoded_values(Format::UnifiedText).await;
        assert_eq!(
            text[0].as_deref(),
            Some(&b"0197209f-3f7e-7a3c-9d2e-5f0c6a1b2c3d"[..])
        );
        assert_eq!(text[1], None);
        let binary = encoded_values(Format::UnifiedBinary).await;
        assert_eq!(binary[0].as_ref().map(Vec::len), Some(16));
    }

    #[test]
    fn maps_become_json_text() {
        let mut builder = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        builder.keys().append_value("env");
        builder.values().append_value("prod \"eu\"");
        builder.keys().append_value("region");
        builder.values().append_null();
        builder.append(true).unwrap();
        builder.append(false).unwrap();
        let column: ArrayRef = Arc::new(builder.finish());
        let json = map_as_json(&column).unwrap();
        let json = json
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        assert_eq!(json.value(0), r#"{"env": "prod \"eu\"", "region": null}"#);
        assert!(json.is_null(1));
    }
}
