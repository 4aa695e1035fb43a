//! Calendar arithmetic: relative periods resolved against the warehouse's
//! as-of date, comparison periods, and bucket starts. Weeks start on Monday.

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Serialize;

use crate::query::{CalendarUnit, TimeGrain, TimeRange};

/// A resolved period: whole days, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DateRange {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("the period {start} to {end} ends before it starts; swap the dates")]
    Reversed { start: NaiveDate, end: NaiveDate },
    #[error("the period is outside the calendar this engine supports")]
    OutOfRange,
    #[error(
        "\"{0}\" covers all time, so there is no earlier period to compare with; name a period"
    )]
    NoPrevious(&'static str),
}

impl DateRange {
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    /// The first day after the range, the exclusive upper bound in SQL.
    pub fn end_exclusive(&self) -> Result<NaiveDate, TimeError> {
        self.end.succ_opt().ok_or(TimeError::OutOfRange)
    }
}

/// The first day of the unit containing `d`.
pub fn unit_start(d: NaiveDate, unit: CalendarUnit) -> NaiveDate {
    bucket_start(d, unit.into())
}

/// The first day of the bucket of `grain` containing `d`.
pub fn bucket_start(d: NaiveDate, grain: TimeGrain) -> NaiveDate {
    let ymd = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d);
    match grain {
        TimeGrain::Day => d,
        TimeGrain::Week => d - Days::new(u64::from(d.weekday().num_days_from_monday())),
        TimeGrain::Month => ymd(d.year(), d.month()),
        TimeGrain::Quarter => ymd(d.year(), (d.month0() / 3) * 3 + 1),
        TimeGrain::Year => ymd(d.year(), 1),
    }
}

/// Moves a date by `n` grains (negative goes back). Month arithmetic clamps
/// to the end of shorter months (31 March minus a month is 28 or 29 February).
pub fn shift(d: NaiveDate, grain: TimeGrain, n: i64) -> Result<NaiveDate, TimeError> {
    let months = |k: i64| -> Result<NaiveDate, TimeError> {
        let m = Months::new(u32::try_from(k.unsigned_abs()).map_err(|_| TimeError::OutOfRange)?);
        if k >= 0 {
            d.checked_add_months(m)
        } else {
            d.checked_sub_months(m)
        }
        .ok_or(TimeError::OutOfRange)
    };
    let days = |k: i64| -> Result<NaiveDate, TimeError> {
        let dd = Days::new(k.unsigned_abs());
        if k >= 0 {
            d.checked_add_days(dd)
        } else {
            d.checked_sub_days(dd)
        }
        .ok_or(TimeError::OutOfRange)
    };
    match grain {
        TimeGrain::Day => days(n),
        TimeGrain::Week => days(n.checked_mul(7).ok_or(TimeError::OutOfRange)?),
        TimeGrain::Month => months(n),
        TimeGrain::Quarter => months(n.checked_mul(3).ok_or(TimeError::OutOfRange)?),
        TimeGrain::Year => months(n.checked_mul(12).ok_or(TimeError::OutOfRange)?),
    }
}

fn last_day_of(start: NaiveDate, unit: CalendarUnit) -> Result<NaiveDate, TimeError> {
    shift(start, unit.into(), 1)?
        .pred_opt()
        .ok_or(TimeError::OutOfRange)
}

/// The days a range covers on a warehouse whose last full day is `as_of`.
/// `All` resolves to None: no restriction.
pub fn resolve(range: &TimeRange, as_of: NaiveDate) -> Result<Option<DateRange>, TimeError> {
    let r = match range {
        TimeRange::All => return Ok(None),
        TimeRange::Day { offset } => {
            let d = shift(as_of, TimeGrain::Day, -i64::from(*offset))?;
            DateRange { start: d, end: d }
        }
        TimeRange::LastNDays { n } => DateRange {
            start: shift(as_of, TimeGrain::Day, 1 - i64::from((*n).max(1)))?,
            end: as_of,
        },
        TimeRange::Current { unit } => DateRange {
            start: unit_start(as_of, *unit),
            end: as_of,
        },
        TimeRange::Previous { unit, n } => {
            let this = unit_start(as_of, *unit);
            let start = shift(this, (*unit).into(), -i64::from((*n).max(1)))?;
            DateRange {
                start,
                end: this.pred_opt().ok_or(TimeError::OutOfRange)?,
            }
        }
        TimeRange::Between { start, end } => DateRange {
            start: *start,
            end: *end,
        },
        TimeRange::Since { start } => DateRange {
            start: *start,
            end: as_of,
        },
    };
    if r.start > r.end {
        return Err(TimeError::Reversed {
            start: r.start,
            end: r.end,
        });
    }
    Ok(Some(r))
}

/// The period a "previous period" comparison sets beside `range`. Calendar
/// periods compare with the calendar period before (to date, for a period in
/// progress: 1-18 November against 1-18 October); day counts with the same
/// number of days before.
pub fn previous_period(range: &TimeRange, as_of: NaiveDate) -> Result<DateRange, TimeError> {
    let cur = resolve(range, as_of)?.ok_or(TimeError::NoPrevious("all time"))?;
    match range {
        TimeRange::Current { unit } => {
            let start = shift(cur.start, (*unit).into(), -1)?;
            let elapsed = cur.end - cur.start;
            let end = (start + elapsed).min(last_day_of(start, *unit)?);
            Ok(DateRange { start, end })
        }
        TimeRange::Previous { unit, n } => {
            let k = -i64::from((*n).max(1));
            let start = shift(cur.start, (*unit).into(), k)?;
            let end = shift(
                cur.end.succ_opt().ok_or(TimeError::OutOfRange)?,
                (*unit).into(),
                k,
            )?
            .pred_opt()
            .ok_or(TimeError::OutOfRange)?;
            Ok(DateRange { start, end })
        }
        // Whole calendar months (October, Q3, a year) compare with the
        // same number of months before, not with as many days.
        TimeRange::Between { start, end }
            if *start == bucket_start(*start, TimeGrain::Month)
                && end
                    .succ_opt()
                    .is_some_and(|n| n == bucket_start(n, TimeGrain::Month)) =>
        {
            let months =
                (end.year() - start.year()) * 12 + end.month() as i32 - start.month() as i32 + 1;
            let from = shift(*start, TimeGrain::Month, -i64::from(months))?;
            Ok(DateRange {
                start: from,
                end: start.pred_opt().ok_or(TimeError::OutOfRange)?,
            })
        }
        _ => {
            let n = cur.days();
            Ok(DateRange {
                start: shift(cur.start, TimeGrain::Day, -n)?,
                end: shift(cur.end, TimeGrain::Day, -n)?,
            })
        }
    }
}

/// The same dates one year earlier (clamping 29 February).
pub fn same_period_last_year(range: &DateRange) -> Result<DateRange, TimeError> {
    Ok(DateRange {
        start: shift(range.start, TimeGrain::Year, -1)?,
        end: shift(range.end, TimeGrain::Year, -1)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    fn r(range: TimeRange, as_of: &str) -> (NaiveDate, NaiveDate) {
        let x = resolve(&range, d(as_of))
            .expect("resolves")
            .expect("bounded");
        (x.start, x.end)
    }

    #[test]
    fn relative_periods_follow_the_spec() {
        // 2024-03-13 is a Wednesday.
        let asof = "2024-03-13";
        assert_eq!(
            r(TimeRange::Day { offset: 0 }, asof),
            (d("2024-03-13"), d("2024-03-13"))
        );
        assert_eq!(
            r(TimeRange::Day { offset: 1 }, asof),
            (d("2024-03-12"), d("2024-03-12"))
        );
        assert_eq!(
            r(TimeRange::LastNDays { n: 7 }, asof),
            (d("2024-03-07"), d("2024-03-13"))
        );
        assert_eq!(
            r(
                TimeRange::Previous {
                    unit: CalendarUnit::Week,
                    n: 1
                },
                asof
            ),
            (d("2024-03-04"), d("2024-03-10"))
        );
        assert_eq!(
            r(
                TimeRange::Current {
                    unit: CalendarUnit::Week
                },
                asof
            ),
            (d("2024-03-11"), d("2024-03-13"))
        );
        // Leap year: last month is all 29 days of February.
        assert_eq!(
            r(
                TimeRange::Previous {
                    unit: CalendarUnit::Month,
                    n: 1
                },
                asof
            ),
            (d("2024-02-01"), d("2024-02-29"))
        );
        assert_eq!(
            r(
                TimeRange::Current {
                    unit: CalendarUnit::Quarter
                },
                asof
            ),
            (d("2024-01-01"), d("2024-03-13"))
        );
        assert_eq!(
            r(
                TimeRange::Previous {
                    unit: CalendarUnit::Quarter,
                    n: 1
                },
                asof
            ),
            (d("2023-10-01"), d("2023-12-31"))
        );
        assert_eq!(
            r(
                TimeRange::Previous {
                    unit: CalendarUnit::Month,
                    n: 3
                },
                asof
            ),
            (d("2023-12-01"), d("2024-02-29"))
        );
        assert_eq!(resolve(&TimeRange::All, d(asof)), Ok(None));
    }

    #[test]
    fn reversed_ranges_are_errors() {
        let e = resolve(
            &TimeRange::Between {
                start: d("2024-02-02"),
                end: d("2024-02-01"),
            },
            d("2024-03-01"),
        );
        assert!(matches!(e, Err(TimeError::Reversed { .. })));
    }

    #[test]
    fn previous_periods() {
        let asof = d("2024-03-31");
        // This month to date against the same days of February, clamped.
        let p = previous_period(
            &TimeRange::Current {
                unit: CalendarUnit::Month,
            },
            asof,
        )
        .expect("ok");
        assert_eq!((p.start, p.end), (d("2024-02-01"), d("2024-02-29")));
        let p = previous_period(
            &TimeRange::Previous {
                unit: CalendarUnit::Month,
                n: 1,
            },
            asof,
        )
        .expect("ok");
        assert_eq!((p.start, p.end), (d("2024-01-01"), d("2024-01-31")));
        let p = previous_period(&TimeRange::LastNDays { n: 7 }, asof).expect("ok");
        assert_eq!((p.start, p.end), (d("2024-03-18"), d("2024-03-24")));
        let p = previous_period(
            &TimeRange::Previous {
                unit: CalendarUnit::Week,
                n: 1,
            },
            asof,
        )
        .expect("ok");
        assert_eq!((p.start, p.end), (d("2024-03-11"), d("2024-03-17")));
        assert!(previous_period(&TimeRange::All, asof).is_err());
        let y = same_period_last_year(&DateRange {
            start: d("2024-02-29"),
            end: d("2024-02-29"),
        })
        .expect("ok");
        assert_eq!(y.start, d("2023-02-28"));
    }

    #[test]
    fn bucket_starts() {
        assert_eq!(
            bucket_start(d("2024-03-03"), TimeGrain::Week),
            d("2024-02-26")
        );
        assert_eq!(
            bucket_start(d("2024-03-04"), TimeGrain::Week),
            d("2024-03-04")
        );
        assert_eq!(
            bucket_start(d("2024-08-15"), TimeGrain::Quarter),
            d("2024-07-01")
        );
        assert_eq!(
            bucket_start(d("2024-08-15"), TimeGrain::Year),
            d("2024-01-01")
        );
    }
}
