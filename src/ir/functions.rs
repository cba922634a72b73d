//! The function catalogue: every function the IR knows by canonical name, with its kind and
//! arity. It is data, not code: targets decide spelling (renames, handlers) in `emit`.
//!
//! Canonical names are lower-case Postgres spellings. A name absent from this table lowers
//! to `Func::Anonymous` and fails closed on every target that cannot pass it through.

#[derive(Debug, PartialEq, Eq)]
pub struct FunctionDef {
    pub name: &'static str,
    pub kind: FunctionKind,
    pub min_args: usize,
    /// `None`: variadic.
    pub max_args: Option<usize>,
    /// Written without parentheses in SQL (`current_date`), a keyword-like value function.
    pub keyword: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    Scalar,
    Aggregate,
    /// Only valid with `OVER (…)`.
    Window,
}

impl FunctionDef {
    pub fn accepts_arity(&self, n: usize) -> bool {
        n >= self.min_args && self.max_args.is_none_or(|max| n <= max)
    }
}

const fn f(
    name: &'static str,
    kind: FunctionKind,
    min_args: usize,
    max_args: Option<usize>,
) -> FunctionDef {
    FunctionDef {
        name,
        kind,
        min_args,
        max_args,
        keyword: false,
    }
}

const fn scalar(name: &'static str, min: usize, max: usize) -> FunctionDef {
    f(name, FunctionKind::Scalar, min, Some(max))
}

const fn variadic(name: &'static str, min: usize) -> FunctionDef {
    f(name, FunctionKind::Scalar, min, None)
}

const fn aggregate(name: &'static str, min: usize, max: usize) -> FunctionDef {
    f(name, FunctionKind::Aggregate, min, Some(max))
}

const fn window(name: &'static str, min: usize, max: usize) -> FunctionDef {
    f(name, FunctionKind::Window, min, Some(max))
}

const fn keyword(name: &'static str) -> FunctionDef {
    FunctionDef {
        keyword: true,
        ..scalar(name, 0, 0)
    }
}

pub static FUNCTIONS: &[FunctionDef] = &[
    // Aggregates. `count(*)` is `star` with no args, hence min 0 for count.
    aggregate("count", 0, 1),
    aggregate("sum", 1, 1),
    aggregate("avg", 1, 1),
    aggregate("min", 1, 1),
    aggregate("max", 1, 1),
    aggregate("stddev", 1, 1),
    aggregate("stddev_samp", 1, 1),
    aggregate("stddev_pop", 1, 1),
    aggregate("variance", 1, 1),
    aggregate("var_samp", 1, 1),
    aggregate("var_pop", 1, 1),
    aggregate("bool_and", 1, 1),
    aggregate("bool_or", 1, 1),
    aggregate("string_agg", 2, 2),
    aggregate("array_agg", 1, 1),
    // Window functions.
    window("row_number", 0, 0),
    window("rank", 0, 0),
    window("dense_rank", 0, 0),
    window("percent_rank", 0, 0),
    window("cume_dist", 0, 0),
    window("ntile", 1, 1),
    window("lag", 1, 3),
    window("lead", 1, 3),
    window("first_value", 1, 1),
    window("last_value", 1, 1),
    window("nth_value", 2, 2),
    // Math.
    scalar("abs", 1, 1),
    scalar("ceil", 1, 1),
    scalar("floor", 1, 1),
    scalar("round", 1, 2),
    scalar("trunc", 1, 2),
    scalar("sqrt", 1, 1),
    scalar("power", 2, 2),
    scalar("ln", 1, 1),
    scalar("log", 1, 2),
    scalar("exp", 1, 1),
    scalar("mod", 2, 2),
    scalar("random", 0, 0),
    // Conditionals.
    variadic("greatest", 1),
    variadic("least", 1),
    variadic("coalesce", 1),
    scalar("nullif", 2, 2),
    // Strings.
    scalar("lower", 1, 1),
    scalar("upper", 1, 1),
    scalar("length", 1, 1),
    scalar("char_length", 1, 1),
    scalar("character_length", 1, 1),
    scalar("octet_length", 1, 1),
    scalar("substr", 2, 3),
    scalar("substring", 2, 3),
    scalar("btrim", 1, 2),
    scalar("ltrim", 1, 2),
    scalar("rtrim", 1, 2),
    scalar("replace", 3, 3),
    variadic("concat", 1),
    variadic("concat_ws", 2),
    scalar("split_part", 3, 3),
    scalar("starts_with", 2, 2),
    scalar("strpos", 2, 2),
    scalar("left", 2, 2),
    scalar("right", 2, 2),
    scalar("lpad", 2, 3),
    scalar("rpad", 2, 3),
    scalar("md5", 1, 1),
    scalar("regexp_replace", 3, 4),
    scalar("regexp_match", 2, 3),
    // Date and time.
    scalar("date_trunc", 2, 2),
    scalar("date_part", 2, 2),
    scalar("to_timestamp", 1, 2),
    scalar("now", 0, 0),
    keyword("current_date"),
    keyword("current_timestamp"),
    // System.
    scalar("version", 0, 0),
];

/// The catalogue entry for a function name as written (function names are
/// case-insensitive in Postgres).
pub fn lookup(name: &str) -> Option<&'static FunctionDef> {
    FUNCTIONS
        .iter()
        .find(|def| def.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_lower_case_and_arities_sane() {
        for (i, def) in FUNCTIONS.iter().enumerate() {
            assert_eq!(def.name, def.name.to_ascii_lowercase());
            assert!(
                FUNCTIONS[..i].iter().all(|other| other.name != def.name),
                "duplicate {}",
                def.name
            );
            assert!(def.max_args.is_none_or(|max| max >= def.min_args));
        }
        assert_eq!(lookup("COUNT").map(|d| d.name), Some("count"));
        assert!(lookup("countIf").is_none());
    }
}
