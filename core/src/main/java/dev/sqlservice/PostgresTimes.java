package dev.sqlservice;

import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/**
 * Dates and times as PostgreSQL's input functions read them, for every year jOOQ can store: ISO-8601 for years
 * 1 to 9999, else PostgreSQL's own form ({@code 10000-01-01 00:00:00+00:00}, {@code 0001-06-01 12:00:00 BC}),
 * since Java's ISO form of those years ({@code +10000-…}, {@code 0000-…}) is not PostgreSQL input.
 *
 * <p>Times are sent rounded to microseconds, PostgreSQL's resolution, half up (as pgjdbc sends jOOQ's own
 * binds), so the value stored is the value {@link #toMicros} computes in Java: primary keys can then be matched
 * to the rows stored for them.
 */
final class PostgresTimes {

    static String format(OffsetDateTime value) {
        value = toMicros(value);
        if (inIsoRange(value.getYear())) {
            return value.toString();
        }
        OffsetDateTime utc = value.withOffsetSameInstant(ZoneOffset.UTC);
        return date(utc.getYear(), utc.getMonthValue(), utc.getDayOfMonth(), " " + utc.toLocalTime() + "+00:00");
    }

    static String format(LocalDateTime value) {
        value = toMicros(value);
        return inIsoRange(value.getYear()) ? value.toString()
                : date(value.getYear(), value.getMonthValue(), value.getDayOfMonth(), " " + value.toLocalTime());
    }

    static String format(LocalDate value) {
        return inIsoRange(value.getYear()) ? value.toString()
                : date(value.getYear(), value.getMonthValue(), value.getDayOfMonth(), "");
    }

    /** The value PostgreSQL stores for this one (at the default precision, 6): rounded to microseconds, half up. */
    static OffsetDateTime toMicros(OffsetDateTime value) {
        int belowMicros = value.getNano() % 1000;
        return belowMicros == 0 ? value : value.plusNanos(belowMicros >= 500 ? 1000 - belowMicros : -belowMicros);
    }

    /** The value PostgreSQL stores for this one (at the default precision, 6): rounded to microseconds, half up. */
    static LocalDateTime toMicros(LocalDateTime value) {
        int belowMicros = value.getNano() % 1000;
        return belowMicros == 0 ? value : value.plusNanos(belowMicros >= 500 ? 1000 - belowMicros : -belowMicros);
    }

    private static boolean inIsoRange(int year) {
        return year >= 1 && year <= 9999;
    }

    /** Proleptic year 0 is 1 BC, -1 is 2 BC, ... */
    private static String date(int year, int month, int day, String time) {
        boolean bc = year <= 0;
        return String.format("%04d-%02d-%02d%s%s", bc ? 1 - year : year, month, day, time, bc ? " BC" : "");
    }

    private PostgresTimes() {}
}
