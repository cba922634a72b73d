//! ClickHouse's best-effort date-time reader (`parseDateTimeBestEffort` and its
//! DateTime64 sibling), ported step for step from ClickHouse's
//! `src/IO/parseDateTimeBestEffort.cpp` (non-US, non-strict) and checked against
//! ClickHouse 26.9 (chdb). It keeps ClickHouse's quirks on purpose, because a
//! different answer is worse than a strange one: numbers are *added* into fields that
//! already hold a value (so `+02:00+01:00` is a three-hour offset), `-` makes every
//! offset west, hours, minutes and seconds past their range roll over, a missing day
//! or month is 1, a missing year is this year or last, and the reader stops at the
//! first byte it does not understand, which fails the whole string.

use chrono::{Datelike, NaiveDate};

/// What the reader made of a string: seconds since the epoch in UTC (before the result
/// type clamps them) and the leading digits of the fraction of a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Parsed {
    pub seconds: i64,
    pub fraction: u64,
    pub fraction_digits: u32,
}

/// ClickHouse keeps at most 18 fraction digits (what an Int64 holds).
const MAX_FRACTION_DIGITS: usize = 18;
/// ClickHouse reads digit runs into a buffer of 19 (an UInt64's decimal digits).
const MAX_DIGITS: usize = 19;

struct Input<'a> {
    text: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    fn eof(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn check_char(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.pos += usize::from(hit);
        hit
    }

    fn read_while(&mut self, max: usize, accept: fn(&u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.pos - start < max && self.peek().as_ref().is_some_and(accept) {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    fn digits(&mut self) -> &'a [u8] {
        self.read_while(MAX_DIGITS, u8::is_ascii_digit)
    }

    fn alpha(&mut self, max: usize) -> &'a [u8] {
        self.read_while(max, u8::is_ascii_alphabetic)
    }
}

/// ClickHouse's `readDecimalNumber`: *adds* the digits' value into `field`, wrapping
/// like the C++ unsigned field does.
fn add_u8(field: &mut u8, digits: &[u8]) {
    *field = field.wrapping_add(number(digits) as u8);
}

fn number(digits: &[u8]) -> u64 {
    digits.iter().fold(0u64, |n, d| {
        n.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
    })
}

fn month_of(word: &[u8]) -> Option<u8> {
    const MONTHS: [&[u8]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let prefix = word.get(..3)?.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| *m == prefix.as_slice())
        .map(|i| i as u8 + 1)
}

/// Words longer than three letters must be a whole month or weekday name.
fn is_full_name(word: &[u8]) -> bool {
    const NAMES: [&str; 18] = [
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    NAMES
        .iter()
        .any(|n| n.as_bytes().eq_ignore_ascii_case(word))
}

fn fail<T>(why: impl std::fmt::Display) -> Result<T, String> {
    Err(format!(
        "Cannot read DateTime: {why} (CANNOT_PARSE_DATETIME)"
    ))
}

fn bad_digits<T>(place: &str, count: usize) -> Result<T, String> {
    let place = if place.is_empty() {
        String::new()
    } else {
        format!(" {place}")
    };
    fail(format!(
        "unexpected number of decimal digits{place}: {count}"
    ))
}

/// Reads `text` as ClickHouse's best-effort parser does, in a UTC session whose
/// current date is `today`. `with_fraction` is ClickHouse's DateTime64 mode: without
/// it a fraction of a second is read and dropped, and a unix timestamp may not have one.
pub(crate) fn best_effort(
    text: &[u8],
    with_fraction: bool,
    today: NaiveDate,
) -> Result<Parsed, String> {
    let mut input = Input { text, pos: 0 };
    let parsed = read(&mut input, with_fraction, today)?;
    // The caller's check (ClickHouse's `isAllRead`): the reader stops at what it does
    // not understand, and that fails the string.
    if !input.eof() {
        return Err(format!(
            "syntax error at position {} (parsed just '{}') (CANNOT_PARSE_TEXT)",
            input.pos,
            String::from_utf8_lossy(&text[..input.pos])
        ));
    }
    Ok(parsed)
}

fn read(input: &mut Input, with_fraction: bool, today: NaiveDate) -> Result<Parsed, String> {
    let mut out = Parsed::default();
    let mut year: u16 = 0;
    let (mut month, mut day, mut hour, mut minute, mut second) = (0u8, 0u8, 0u8, 0u8, 0u8);
    let mut has_time = false;
    let mut has_fraction = false;
    let mut has_offset = false;
    let mut offset_negative = false;
    let (mut offset_hour, mut offset_minute) = (0u8, 0u8);
    let (mut is_am, mut is_pm) = (false, false);
    let mut comma_between_date_and_time = false;

    while !input.eof() {
        if (year != 0) != has_time && input.peek() == Some(b',') {
            comma_between_date_and_time = true;
            input.pos += 1;
            if input.eof() {
                break;
            }
        }

        let mut num_digits = 0;
        if year == 0 || !has_time {
            let digits = input.digits();
            num_digits = digits.len();
            let nothing_yet = year == 0 && !has_time;
            match num_digits {
                // Unix timestamps with milli-, micro- or nanoseconds.
                13 | 16 | 19 if nothing_yet => {
                    out.seconds = number(&digits[..10]) as i64;
                    if with_fraction {
                        out.fraction = number(&digits[10..]);
                        out.fraction_digits = (num_digits - 10) as u32;
                    }
                    return Ok(out);
                }
                // Unix timestamps in seconds, which may have a fraction in DateTime64.
                9 | 10 if nothing_yet => {
                    out.seconds = number(digits) as i64;
                    if with_fraction && input.check_char(b'.') {
                        let fraction = input.digits();
                        let kept = &fraction[..fraction.len().min(MAX_FRACTION_DIGITS)];
                        out.fraction = number(kept);
                        out.fraction_digits = kept.len() as u32;
                    }
                    return Ok(out);
                }
                14 if nothing_yet => {
                    year = year.wrapping_add(number(&digits[..4]) as u16);
                    add_u8(&mut month, &digits[4..6]);
                    add_u8(&mut day, &digits[6..8]);
                    add_u8(&mut hour, &digits[8..10]);
                    add_u8(&mut minute, &digits[10..12]);
                    add_u8(&mut second, &digits[12..14]);
                    has_time = true;
                }
                8 if year == 0 => {
                    year = year.wrapping_add(number(&digits[..4]) as u16);
                    add_u8(&mut month, &digits[4..6]);
                    add_u8(&mut day, &digits[6..8]);
                }
                6 => {
                    if year == 0 && month == 0 {
                        year = number(&digits[..4]) as u16;
                        add_u8(&mut month, &digits[4..6]);
                    } else if !has_time {
                        add_u8(&mut hour, &digits[..2]);
                        add_u8(&mut minute, &digits[2..4]);
                        add_u8(&mut second, &digits[4..6]);
                        has_time = true;
                    } else {
                        return fail("ambiguous 6 digits, it can be YYYYMM or hhmmss");
                    }
                }
                4 if year == 0 => {
                    // YYYY, YYYY*MM, YYYY*MM*DD and their one-digit forms.
                    year = number(digits) as u16;
                    let Some(delimiter) = input.peek() else {
                        continue;
                    };
                    // `delimiter < 0x20` on a signed char: x86 also stops at bytes >= 0x80.
                    if !(0x20..0x80).contains(&delimiter)
                        || matches!(delimiter, b',' | b';' | b'\'' | b'"')
                    {
                        break;
                    }
                    if month != 0 {
                        continue;
                    }
                    input.pos += 1;
                    let digits = input.digits();
                    num_digits = digits.len();
                    match num_digits {
                        1 | 2 => add_u8(&mut month, digits),
                        _ if delimiter == b' ' => continue,
                        n => return bad_digits("after year", n),
                    }
                    if day == 0 && input.check_char(delimiter) {
                        let digits = input.digits();
                        num_digits = digits.len();
                        match num_digits {
                            1 | 2 => add_u8(&mut day, digits),
                            _ if delimiter == b' ' => continue,
                            n => return bad_digits("after year and month", n),
                        }
                    }
                }
                1 | 2 => {
                    // hh:mm[:ss], DD/MM/YYYY (also `.`, `-`, two-digit years), DD, or hh
                    // once the day is known.
                    let value = number(digits) as u8;
                    if input.check_char(b':') {
                        if has_time {
                            return fail("time component is duplicated");
                        }
                        hour = value;
                        has_time = true;
                        let digits = input.digits();
                        num_digits = digits.len();
                        match num_digits {
                            1 | 2 => add_u8(&mut minute, digits),
                            n => return bad_digits("after hour", n),
                        }
                        if input.check_char(b':') {
                            let digits = input.digits();
                            num_digits = digits.len();
                            match num_digits {
                                1 | 2 => add_u8(&mut second, digits),
                                n => return bad_digits("after hour and minute", n),
                            }
                        }
                    } else if input.check_char(b',') {
                        if month != 0 && day == 0 {
                            day = value;
                        }
                    } else if matches!(input.peek(), Some(b'/' | b'.' | b'-')) {
                        input.pos += 1;
                        if day != 0 {
                            return fail("day of month is duplicated");
                        }
                        if month != 0 {
                            return fail("month is duplicated");
                        }
                        day = value;
                        let digits = input.digits();
                        num_digits = digits.len();
                        match num_digits {
                            1 | 2 => add_u8(&mut month, digits),
                            0 => month = alpha_month_after_day(input)?,
                            n => return bad_digits("after day of month", n),
                        }
                        if month > 12 {
                            std::mem::swap(&mut month, &mut day);
                        }
                        if matches!(input.peek(), Some(b'/' | b'.' | b'-')) {
                            input.pos += 1;
                            if year != 0 {
                                return fail("year component is duplicated");
                            }
                            let digits = input.digits();
                            num_digits = digits.len();
                            year = match num_digits {
                                4 => number(digits) as u16,
                                2 if number(digits) >= 70 => 1900 + number(digits) as u16,
                                2 => 2000 + number(digits) as u16,
                                n => return bad_digits("after day of month and month", n),
                            };
                        }
                    } else if day != 0 {
                        hour = value;
                    } else {
                        day = value;
                    }
                }
                0 => {}
                n => return bad_digits("", n),
            }
        }

        if num_digits == 0 {
            // ClickHouse reads the string's terminating zero byte at the end.
            let c = input.peek().unwrap_or(0);
            if c == b' ' || (c == b'T' && year != 0 && !has_time) {
                input.pos += 1;
            } else if c == b'Z' {
                input.pos += 1;
                has_offset = true;
            } else if c == b'.' {
                if !has_time {
                    return fail("unexpected point symbol");
                }
                if has_fraction {
                    return fail("duplicate fractional part");
                }
                has_fraction = true;
                input.pos += 1;
                let digits = input.digits();
                if with_fraction {
                    let kept = &digits[..digits.len().min(MAX_FRACTION_DIGITS)];
                    out.fraction = number(kept);
                    out.fraction_digits = kept.len() as u32;
                }
            } else if c == b'+' || c == b'-' {
                input.pos += 1;
                let digits = input.digits();
                if digits.len() == 6 && !has_time && year != 0 && month != 0 && day != 0 {
                    add_u8(&mut hour, &digits[..2]);
                    add_u8(&mut minute, &digits[2..4]);
                    add_u8(&mut second, &digits[4..6]);
                    has_time = true;
                } else {
                    has_offset = true;
                    offset_negative |= c == b'-';
                    match digits.len() {
                        4 => {
                            add_u8(&mut offset_hour, &digits[..2]);
                            add_u8(&mut offset_minute, &digits[2..]);
                        }
                        3 => {
                            add_u8(&mut offset_hour, &digits[..1]);
                            add_u8(&mut offset_minute, &digits[1..]);
                        }
                        1 | 2 => add_u8(&mut offset_hour, digits),
                        n => return bad_digits("for time zone offset", n),
                    }
                    if digits.len() < 3 && input.check_char(b':') {
                        match input.digits() {
                            minutes @ ([_] | [_, _]) => add_u8(&mut offset_minute, minutes),
                            other => {
                                return bad_digits("for time zone offset in minutes", other.len())
                            }
                        }
                    }
                }
            } else {
                let word = input.alpha(3);
                match word.len() {
                    0 => break,
                    1 => return fail("unexpected alphabetical character"),
                    2 => match word.to_ascii_lowercase().as_slice() {
                        b"am" => is_am = true,
                        b"pm" => is_pm = true,
                        _ => return fail("unexpected word"),
                    },
                    _ => {
                        let mut weekday = false;
                        match word.to_ascii_lowercase().as_slice() {
                            w if month_of(w).is_some() => month = month_of(w).unwrap_or(0),
                            b"utc" | b"gmt" => has_offset = true,
                            b"msk" | b"msd" => {
                                has_offset = true;
                                offset_hour = if word[2].eq_ignore_ascii_case(&b'k') {
                                    3
                                } else {
                                    4
                                };
                            }
                            b"mon" | b"tue" | b"wed" | b"thu" | b"fri" | b"sat" | b"sun" => {
                                weekday = true
                            }
                            _ => return fail("unexpected word"),
                        }
                        let start = input.pos - 3;
                        let rest = input.alpha(7);
                        if input.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                            return fail("unexpected word");
                        }
                        if !rest.is_empty() && !is_full_name(&input.text[start..input.pos]) {
                            return fail("unexpected word");
                        }
                        // RFC 2822: `Sat, 01 Jun 2024 ...`
                        if weekday {
                            input.check_char(b',');
                        }
                    }
                }
            }
        }
    }

    if comma_between_date_and_time && (!has_time || year == 0 || month == 0 || day == 0) {
        return fail("unexpected word after Date");
    }
    if year == 0 && month == 0 && day == 0 && !has_time {
        return fail("neither Date nor Time was parsed successfully");
    }
    day = day.max(1);
    month = month.max(1);
    if year == 0 {
        // syslog's `Mar  3 01:33:48`: this year unless that date is still to come. The
        // date is formed as ClickHouse's calendar table does, an overlong day running
        // into the next month.
        let this_year = today.year();
        let date = NaiveDate::from_ymd_opt(this_year, u32::from(month.min(12)), 1)
            .and_then(|first| first.checked_add_days(chrono::Days::new(u64::from(day) - 1)));
        year = match date {
            Some(date) if date > today => (this_year - 1) as u16,
            _ => this_year as u16,
        };
    }
    let Some(date) = NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day))
    else {
        return fail(format!("unexpected date: {year}-{month}-{day}"));
    };
    if is_am && hour == 12 {
        hour = 0;
    }
    if is_pm && hour < 12 {
        hour += 12;
    }
    let days = i64::from(date.num_days_from_ce()) - EPOCH_DAYS_FROM_CE;
    out.seconds =
        days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    if has_offset {
        let offset = i64::from(offset_hour) * 3600 + i64::from(offset_minute) * 60;
        out.seconds += if offset_negative { offset } else { -offset };
    }
    Ok(out)
}

/// 1970-01-01 counted from 0001-01-01 as day 1, chrono's `num_days_from_ce`.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// `DD-Mon-YYYY`: the month's name after the day, three letters or the whole name.
fn alpha_month_after_day(input: &mut Input) -> Result<u8, String> {
    let word = input.alpha(9);
    if word.len() < 3 {
        return fail(format!(
            "unexpected number of alphabetical characters after day of month: {}",
            word.len()
        ));
    }
    let Some(month) = month_of(word) else {
        return fail(format!(
            "alphabetical characters after day of month don't look like month: {}",
            String::from_utf8_lossy(&word[..3])
        ));
    };
    if input.peek().is_some_and(|c| c.is_ascii_alphabetic())
        || (word.len() > 3 && !is_full_name(word))
    {
        return fail("unexpected word");
    }
    Ok(month)
}
