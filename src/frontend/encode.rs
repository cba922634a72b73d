//! Arrow → Postgres wire: RowDescription fields and DataRows, text or binary per
//! column. This module adapts the Arrow types Postgres has no form for (maps, uuids)
//! and turns a batch stream into a row stream without buffering; `datarow` writes
//! the values.

use std::collections::VecDeque;
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

use super::datarow::RowEncoder;
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

/// The Arrow fields of the columns as `client_columns` adapts them: maps as JSON
/// text, uuids as text or as their 16 raw bytes. Other fields keep their metadata,
/// which arrow-pg reads (oid aliases, "char" columns).
fn client_fields(schema: &SchemaRef, fields: &[FieldInfo]) -> Vec<Arc<Field>> {
    schema
        .fields()
        .iter()
        .zip(fields)
        .map(
            |(field, info)| match adapted_type(field.data_type(), info) {
                Some(data_type) => Arc::new(Field::new(field.name(), data_type, true)),
                None => field.clone(),
            },
        )
        .collect()
}

fn adapted_type(data_type: &DataType, field: &FieldInfo) -> Option<DataType> {
    match data_type {
        DataType::Map(..) => Some(DataType::Utf8),
        DataType::FixedSizeBinary(16) if *field.datatype() == Type::UUID => {
            Some(match field.format() {
                FieldFormat::Text => DataType::Utf8,
                FieldFormat::Binary => DataType::Binary,
            })
        }
        _ => None,
    }
}

/// A batch's columns as the client is sent them (see `client_fields`).
fn client_columns(batch: &RecordBatch, fields: &[FieldInfo]) -> Result<Vec<ArrayRef>> {
    batch
        .columns()
        .iter()
        .zip(fields)
        .map(
            |(column, field)| match adapted_type(column.data_type(), field) {
                None => Ok(column.clone()),
                Some(_) if matches!(column.data_type(), DataType::Map(..)) => map_as_json(column),
                Some(DataType::Utf8) => uuids_as_text(column),
                // Variable-length binary is written as its raw bytes: uuid's binary form.
                Some(_) => arrow::compute::cast(column, &DataType::Binary).map_err(Error::internal),
            },
        )
        .collect()
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

/// `s` as a JSON string. (ClickHouse's JSON functions re-serialize with their own
/// escapes: `udf::json`.)
pub(crate) fn push_json_string(out: &mut String, s: &str) {
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

/// Encodes batches into DataRows as the client pulls them, a slice of rows at a
/// time; a cancel request ends the stream with SQLSTATE 57014 even while a batch is
/// being computed.
pub fn row_stream(
    result: ResultStream,
    fields: Arc<Vec<FieldInfo>>,
    cancel: CancellationToken,
) -> impl Stream<Item = PgWireResult<DataRow>> + Send + 'static {
    Rows {
        arrow_fields: client_fields(&result.schema, &fields),
        batches: Cancellable {
            inner: result.batches,
            cancelled: Box::pin(cancel.cancelled_owned()),
            done: false,
        },
        encoder: RowEncoder::new(fields.clone()),
        packed: PACKED_ROWS.try_with(|_| ()).is_ok(),
        fields,
        current: None,
        ready: VecDeque::new(),
        done: false,
    }
}

tokio::task_local! {
    /// Set while a sender that understands packed items (`datarow::unpack`) answers:
    /// row streams created then yield a slice of complete messages per item.
    static PACKED_ROWS: ();
}

/// Runs `answer` so that the row streams it creates yield packed items. Their
/// consumer must write them with `datarow::unpack`; pgwire's senders cannot.
pub async fn with_packed_rows<F: Future>(answer: F) -> F::Output {
    PACKED_ROWS.scope((), answer).await
}

/// Rows encoded per slice: enough to amortize choosing the column writers, few
/// enough that a slice's text stays small.
const SLICE_ROWS: usize = 1024;

struct Rows<S> {
    batches: Cancellable<S>,
    fields: Arc<Vec<FieldInfo>>,
    arrow_fields: Vec<Arc<Field>>,
    encoder: RowEncoder,
    /// Yield one packed item per slice rather than one DataRow per row.
    packed: bool,
    /// The batch being encoded, as the client's columns, and its next row.
    current: Option<(Vec<ArrayRef>, usize, usize)>,
    ready: VecDeque<DataRow>,
    done: bool,
}

impl<S> Rows<S> {
    fn encode_slice(&mut self) -> PgWireResult<()> {
        let Some((columns, next, len)) = &mut self.current else {
            return Ok(());
        };
        let end = (*next + SLICE_ROWS).min(*len);
        if self.packed {
            let packed = self
                .encoder
                .encode_packed(columns, &self.arrow_fields, *next..end)?;
            self.ready.push_back(packed);
        } else {
            self.encoder
                .encode(columns, &self.arrow_fields, *next..end, &mut self.ready)?;
        }
        *next = end;
        if end == *len {
            self.current = None;
        }
        Ok(())
    }
}

impl<S> Stream for Rows<S>
where
    S: Stream<Item = Result<RecordBatch>> + Unpin,
{
    type Item = PgWireResult<DataRow>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(row) = self.ready.pop_front() {
                return Poll::Ready(Some(Ok(row)));
            }
            if self.done {
                return Poll::Ready(None);
            }
            if self.current.is_some() {
                if let Err(e) = self.encode_slice() {
                    self.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                continue;
            }
            let batch = match std::task::ready!(self.batches.poll_next_unpin(cx)) {
                Some(batch) => batch,
                None => {
                    self.done = true;
                    continue;
                }
            };
            match batch.and_then(|batch| {
                let columns = client_columns(&batch, &self.fields)?;
                Ok((columns, batch.num_rows()))
            }) {
                Ok((columns, rows)) => self.current = Some((columns, 0, rows)),
                Err(e) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(to_pg_error(&e))));
                }
            }
        }
    }
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
