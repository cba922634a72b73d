//! ClickHouse's `quantile(level)(x)` (and `median(x)`) and `quantiles(l1, …)(x)` as
//! DataFusion aggregates: `ch_quantile(x, level)` and `ch_quantiles(x, l1, l2, …)`, each
//! level a Float64 literal in [0, 1]. ClickHouse keeps up to 8192 values per group
//! (reservoir sampling) and interpolates between the sorted neighbours of
//! `level * (n - 1)` (`ReservoirSampler::quantileInterpolated`), which is exact below
//! 8192 values. We keep every value: above 8192 we answer exactly where ClickHouse
//! samples, within its own approximation. Nothing here samples or is random.
//!
//! Answers per argument type, as ClickHouse 26.9 (chdb 4.4) gives them:
//! - integers, floats, booleans: Float64, interpolated in f64; NaN inputs are skipped;
//! - Decimal128(p, s): the same type, interpolated exactly on the unscaled integers and
//!   truncated toward zero (ClickHouse's decimal path; chdb strays from it by a few
//!   units once unscaled values pass about 2^65);
//! - Date32 (ClickHouse `Date`): Date32, interpolated in f64 and truncated;
//! - Timestamp(unit, tz): the same type, exact like decimals: ClickHouse's `DateTime64`
//!   at that unit. (`DateTime`, whole seconds interpolated in f64, is `ch_quantile` of
//!   the epoch seconds, truncated.)
//!
//! With nothing to interpolate, `ch_quantile` is NULL if it saw no non-NULL row (ClickHouse's
//! answer for a Nullable column; a non-Nullable one gives NaN, 0 or the epoch, which the
//! caller supplies) and NaN if it saw only NaNs (ClickHouse's answer either way).
//! `ch_quantiles` is never NULL, as in ClickHouse: such a level is NaN, 0 or the epoch.

use std::cmp::Ordering;
use std::fmt::Debug;
use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, BooleanArray, ListArray, PrimitiveArray,
    RecordBatch,
};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{
    ArrowNativeType, DataType, Date32Type, Decimal128Type, Field, FieldRef, Float64Type, Schema,
    TimeUnit, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use datafusion::common::{internal_err, not_impl_err, plan_err, ScalarValue};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, EmitTo, GroupsAccumulator,
    Signature, Volatility,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;

/// ClickHouse `quantile(level)(x)`, `median(x)`: `ch_quantile(x, level)`.
pub const QUANTILE: &str = "ch_quantile";
/// ClickHouse `quantiles(l1, l2, …)(x)`: `ch_quantiles(x, l1, l2, …)`, a list.
pub const QUANTILES: &str = "ch_quantiles";

pub fn register(ctx: &SessionContext) {
    for many in [false, true] {
        ctx.register_udaf(AggregateUDF::new_from_impl(Quantile {
            many,
            signature: Signature::user_defined(Volatility::Immutable),
        }));
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Quantile {
    /// `ch_quantiles`: any number of levels, a list of answers.
    many: bool,
    signature: Signature,
}

/// The type the values are gathered as, or None where ClickHouse's `quantile` refuses
/// the argument (strings) or we have not pinned its answers (Decimal256, Date64, times).
fn value_type(arg: &DataType) -> Option<DataType> {
    use DataType::*;
    match arg {
        Null | Boolean | Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64
        | Float16 | Float32 | Float64 => Some(Float64),
        Decimal32(p, s) | Decimal64(p, s) | Decimal128(p, s) => Some(Decimal128(*p, *s)),
        Date32 => Some(Date32),
        Timestamp(unit, tz) => Some(Timestamp(*unit, tz.clone())),
        Dictionary(_, value) => value_type(value),
        _ => None,
    }
}

/// Runs `$body` with `$T` the Arrow type gathering values of `$data_type` (as
/// `value_type` chose it).
macro_rules! with_type {
    ($data_type:expr, $T:ident => $body:expr) => {
        match $data_type {
            DataType::Float64 => {
                type $T = Float64Type;
                $body
            }
            DataType::Date32 => {
                type $T = Date32Type;
                $body
            }
            DataType::Decimal128(_, _) => {
                type $T = Decimal128Type;
                $body
            }
            DataType::Timestamp(TimeUnit::Second, _) => {
                type $T = TimestampSecondType;
                $body
            }
            DataType::Timestamp(TimeUnit::Millisecond, _) => {
                type $T = TimestampMillisecondType;
                $body
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                type $T = TimestampMicrosecondType;
                $body
            }
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                type $T = TimestampNanosecondType;
                $body
            }
            other => internal_err!("quantile of {other} was not coerced"),
        }
    };
}

impl AggregateUDFImpl for Quantile {
    fn name(&self) -> &str {
        if self.many {
            QUANTILES
        } else {
            QUANTILE
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let levels = arg_types.len().saturating_sub(1);
        if levels == 0 || (!self.many && levels != 1) {
            let expected = if self.many { "levels" } else { "one level" };
            return plan_err!("{} takes a value and {expected}", self.name());
        }
        let Some(value) = value_type(&arg_types[0]) else {
            return plan_err!("{} of {} is not supported", self.name(), arg_types[0]);
        };
        Ok(std::iter::once(value)
            .chain(std::iter::repeat_n(DataType::Float64, levels))
            .collect())
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let value = arg_types[0].clone();
        Ok(if self.many {
            DataType::List(Arc::new(Field::new_list_field(value, true)))
        } else {
            value
        })
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let value = args.input_fields[0].data_type().clone();
        Ok(vec![
            Field::new(
                format_state_name(args.name, "values"),
                DataType::List(Arc::new(Field::new_list_field(value, true))),
                true,
            )
            .into(),
            Field::new(
                format_state_name(args.name, "seen"),
                DataType::Boolean,
                true,
            )
            .into(),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let spec = Arc::new(Spec::new(self, &args)?);
        with_type!(&spec.value_type.clone(), T => Ok(Box::new(Single::<T> {
            spec,
            group: Group::default(),
        })))
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        !args.is_distinct
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let spec = Arc::new(Spec::new(self, &args)?);
        with_type!(&spec.value_type.clone(), T => Ok(Box::new(Groups::<T> {
            spec,
            groups: Vec::new(),
        })))
    }
}

/// One call's fixed parts: its levels and the type values are gathered as.
#[derive(Debug)]
struct Spec {
    many: bool,
    levels: Vec<f64>,
    value_type: DataType,
}

impl Spec {
    fn new(function: &Quantile, args: &AccumulatorArgs) -> Result<Spec> {
        if args.is_distinct {
            return not_impl_err!("{}(DISTINCT …)", function.name());
        }
        let levels = args.exprs[1..]
            .iter()
            .map(|level| literal_level(function.name(), level))
            .collect::<Result<_>>()?;
        Ok(Spec {
            many: function.many,
            levels,
            value_type: args.expr_fields[0].data_type().clone(),
        })
    }
}

/// A level must be a constant in [0, 1], as ClickHouse requires.
fn literal_level(name: &str, expr: &Arc<dyn PhysicalExpr>) -> Result<f64> {
    let nothing = RecordBatch::new_empty(Arc::new(Schema::empty()));
    match expr.evaluate(&nothing) {
        Ok(ColumnarValue::Scalar(ScalarValue::Float64(Some(level)))) => {
            if (0.0..=1.0).contains(&level) {
                Ok(level)
            } else {
                plan_err!("{name}: level {level} is out of range [0, 1]")
            }
        }
        _ => plan_err!("{name}: a level must be a numeric literal"),
    }
}

/// How ClickHouse orders, skips and interpolates values of one type.
trait Rule: ArrowPrimitiveType + Debug {
    /// A level's answer with no value to interpolate, where the answer cannot be NULL.
    const NOTHING: Self::Native;

    /// ClickHouse's sampler drops NaN before counting.
    fn skipped(_value: Self::Native) -> bool {
        false
    }

    fn order(a: &Self::Native, b: &Self::Native) -> Ordering;

    /// The value at fractional `index` between sorted neighbours `left` (at index
    /// `left_index`) and `right`.
    fn between(
        left: Self::Native,
        right: Self::Native,
        left_index: usize,
        index: f64,
    ) -> Self::Native;
}

/// ClickHouse's f64 interpolation, operation for operation, so results are bit-equal.
fn interpolate(left: f64, right: f64, left_index: usize, index: f64) -> f64 {
    left * ((left_index + 1) as f64 - index) + right * (index - left_index as f64)
}

impl Rule for Float64Type {
    const NOTHING: f64 = f64::NAN;

    fn skipped(value: f64) -> bool {
        value.is_nan()
    }

    fn order(a: &f64, b: &f64) -> Ordering {
        a.total_cmp(b)
    }

    fn between(left: f64, right: f64, left_index: usize, index: f64) -> f64 {
        interpolate(left, right, left_index, index)
    }
}

impl Rule for Date32Type {
    const NOTHING: i32 = 0;

    fn order(a: &i32, b: &i32) -> Ordering {
        a.cmp(b)
    }

    // Saturating `as` truncates toward zero, as ClickHouse's cast to its day number does.
    fn between(left: i32, right: i32, left_index: usize, index: f64) -> i32 {
        interpolate(left as f64, right as f64, left_index, index) as i32
    }
}

impl Rule for Decimal128Type {
    const NOTHING: i128 = 0;

    fn order(a: &i128, b: &i128) -> Ordering {
        a.cmp(b)
    }

    fn between(left: i128, right: i128, left_index: usize, index: f64) -> i128 {
        exact(left, right, index - left_index as f64)
    }
}

macro_rules! timestamp_rule {
    ($($T:ty),*) => {$(
        impl Rule for $T {
            const NOTHING: i64 = 0;

            fn order(a: &i64, b: &i64) -> Ordering {
                a.cmp(b)
            }

            fn between(left: i64, right: i64, left_index: usize, index: f64) -> i64 {
                // Between two i64, so it fits.
                exact(left.into(), right.into(), index - left_index as f64) as i64
            }
        }
    )*};
}

timestamp_rule!(
    TimestampSecondType,
    TimestampMillisecondType,
    TimestampMicrosecondType,
    TimestampNanosecondType
);

/// `left + (right - left) * coef` truncated toward zero, with `coef` at its exact binary
/// value `num / 2^shift`: ClickHouse's decimal interpolation, which keeps decimals out of
/// f64. `left <= right`; `coef` in [0, 1).
fn exact(left: i128, right: i128, coef: f64) -> i128 {
    if coef == 0.0 || left == right {
        return left;
    }
    let bits = coef.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as u32;
    let mantissa = bits & ((1 << 52) - 1);
    let (num, shift) = if exponent == 0 {
        (mantissa, 1074)
    } else {
        (mantissa | 1 << 52, 1075 - exponent)
    };
    // (right - left) * num < 2^181, held as hi * 2^128 + lo.
    let diff = right.wrapping_sub(left) as u128;
    let low_product = (diff as u64 as u128) * num as u128;
    let high_product = (diff >> 64) * num as u128;
    let (lo, carry) = low_product.overflowing_add(high_product << 64);
    let hi = (high_product >> 64) + carry as u128;
    // Floor of the product over 2^shift, and whether a fraction was dropped. shift >= 53
    // since coef < 1, so `hi << (128 - shift)` keeps all of hi (< 2^53).
    let (floor, inexact) = if shift >= 256 {
        (0, true)
    } else if shift >= 128 {
        let s = shift - 128;
        (hi >> s, lo != 0 || hi & ((1 << s) - 1) != 0)
    } else {
        (
            (lo >> shift) | (hi << (128 - shift)),
            lo & ((1 << shift) - 1) != 0,
        )
    };
    // The exact result lies in [left, right], so this cannot overflow.
    let below = left.wrapping_add(floor as i128);
    if inexact && below < 0 {
        below + 1
    } else {
        below
    }
}

/// ClickHouse's `quantileInterpolated` over sorted, non-empty `values`.
fn quantile<T: Rule>(sorted: &[T::Native], level: f64) -> T::Native {
    let last = (sorted.len() - 1) as f64;
    let index = (level * last).min(last).max(0.0);
    let left = index as usize;
    if left + 1 == sorted.len() {
        return sorted[left];
    }
    T::between(sorted[left], sorted[left + 1], left, index)
}

/// One group's values (NaN already dropped) and whether any non-NULL row was seen.
#[derive(Debug)]
struct Group<N> {
    values: Vec<N>,
    seen: bool,
}

impl<N> Default for Group<N> {
    fn default() -> Self {
        Group {
            values: Vec::new(),
            seen: false,
        }
    }
}

impl<N: ArrowNativeType> Group<N> {
    fn add<T: Rule<Native = N>>(&mut self, value: N) {
        self.seen = true;
        if !T::skipped(value) {
            self.values.push(value);
        }
    }

    /// Folds in row `row` of a state (`values` list, `seen` flag).
    fn merge<T: Rule<Native = N>>(&mut self, states: &[ArrayRef], row: usize) {
        let (lists, seen) = (states[0].as_list::<i32>(), states[1].as_boolean());
        if lists.is_valid(row) {
            let values = lists.value(row);
            self.values
                .extend_from_slice(&values.as_primitive::<T>().values()[..]);
        }
        self.seen |= seen.is_valid(row) && seen.value(row);
    }

    fn size(&self) -> usize {
        self.values.capacity() * size_of::<N>()
    }
}

/// The groups' states: a list of values and a `seen` flag per group.
fn state<'a, T: Rule>(
    spec: &Spec,
    groups: impl Iterator<Item = &'a Group<T::Native>>,
) -> Result<Vec<ArrayRef>> {
    let (mut offsets, mut flat, mut seen) = (vec![0i32], Vec::new(), Vec::new());
    for group in groups {
        flat.extend_from_slice(&group.values);
        offsets.push(offset(flat.len())?);
        seen.push(group.seen);
    }
    let values = PrimitiveArray::<T>::new(ScalarBuffer::from(flat), None)
        .with_data_type(spec.value_type.clone());
    let list = ListArray::new(
        Arc::new(Field::new_list_field(spec.value_type.clone(), true)),
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Arc::new(values),
        None,
    );
    Ok(vec![Arc::new(list), Arc::new(BooleanArray::from(seen))])
}

fn offset(len: usize) -> Result<i32> {
    i32::try_from(len).map_err(|_| {
        DataFusionError::ResourcesExhausted("quantile: more than 2^31 values".to_owned())
    })
}

/// Each group's answer: a value for `ch_quantile`, a list for `ch_quantiles`.
fn evaluate<'a, T: Rule>(
    spec: &Spec,
    groups: impl Iterator<Item = &'a mut Group<T::Native>>,
) -> Result<ArrayRef> {
    let value_type = spec.value_type.clone();
    if !spec.many {
        let level = spec.levels[0];
        let answers: PrimitiveArray<T> = groups
            .map(|group| {
                if group.values.is_empty() {
                    // Only NaN can be seen yet skipped: ClickHouse answers NaN.
                    group.seen.then_some(T::NOTHING)
                } else {
                    group.values.sort_unstable_by(T::order);
                    Some(quantile::<T>(&group.values, level))
                }
            })
            .collect();
        return Ok(Arc::new(answers.with_data_type(value_type)));
    }
    let (mut offsets, mut flat) = (vec![0i32], Vec::new());
    for group in groups {
        group.values.sort_unstable_by(T::order);
        for &level in &spec.levels {
            flat.push(if group.values.is_empty() {
                T::NOTHING
            } else {
                quantile::<T>(&group.values, level)
            });
        }
        offsets.push(offset(flat.len())?);
    }
    let values =
        PrimitiveArray::<T>::new(ScalarBuffer::from(flat), None).with_data_type(value_type.clone());
    Ok(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(value_type, true)),
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Arc::new(values),
        None,
    )))
}

/// The accumulator without GROUP BY, and for windows.
#[derive(Debug)]
struct Single<T: Rule> {
    spec: Arc<Spec>,
    group: Group<T::Native>,
}

impl<T: Rule> Accumulator for Single<T> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for value in values[0].as_primitive::<T>().iter().flatten() {
            self.group.add::<T>(value);
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for row in 0..states[0].len() {
            self.group.merge::<T>(states, row);
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        state::<T>(&self.spec, std::iter::once(&self.group))?
            .iter()
            .map(|array| ScalarValue::try_from_array(array, 0))
            .collect()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let answer = evaluate::<T>(&self.spec, std::iter::once(&mut self.group))?;
        ScalarValue::try_from_array(&answer, 0)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.group.size()
    }
}

/// Row `row`'s value, unless it is NULL or filtered out.
fn kept<T: Rule>(
    values: &PrimitiveArray<T>,
    filter: Option<&BooleanArray>,
    row: usize,
) -> Option<T::Native> {
    let passes = filter.is_none_or(|filter| filter.is_valid(row) && filter.value(row));
    (passes && values.is_valid(row)).then(|| values.value(row))
}

/// The accumulator for GROUP BY: one `Group` per group index.
#[derive(Debug)]
struct Groups<T: Rule> {
    spec: Arc<Spec>,
    groups: Vec<Group<T::Native>>,
}

impl<T: Rule> GroupsAccumulator for Groups<T> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups.resize_with(total_num_groups, Group::default);
        let values = values[0].as_primitive::<T>();
        for (row, &group) in group_indices.iter().enumerate() {
            if let Some(value) = kept(values, opt_filter, row) {
                self.groups[group].add::<T>(value);
            }
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let values = values[0].as_primitive::<T>();
        let groups: Vec<Group<T::Native>> = (0..values.len())
            .map(|row| {
                let mut group = Group::default();
                if let Some(value) = kept(values, opt_filter, row) {
                    group.add::<T>(value);
                }
                group
            })
            .collect();
        state::<T>(&self.spec, groups.iter())
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups.resize_with(total_num_groups, Group::default);
        for (row, &group) in group_indices.iter().enumerate() {
            self.groups[group].merge::<T>(values, row);
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let mut groups = emit_to.take_needed(&mut self.groups);
        evaluate::<T>(&self.spec, groups.iter_mut())
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = emit_to.take_needed(&mut self.groups);
        state::<T>(&self.spec, groups.iter())
    }

    fn size(&self) -> usize {
        self.groups.capacity() * size_of::<Group<T::Native>>()
            + self.groups.iter().map(Group::size).sum::<usize>()
    }
}

#[cfg(test)]
#[path = "quantile_tests.rs"]
mod tests;
