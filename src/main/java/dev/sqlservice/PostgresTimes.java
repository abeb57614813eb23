package dev.sqlservice;

import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/**
 * Dates and times as PostgreSQL's input functions read them, for every year jOOQ can store: ISO-8601 for years
 * 1 to 9999, else PostgreSQL's own form ({@code 10000-01-01 00:00:00+00:00}, {@code 0001-06-01 12:00:00 BC}),
 * since Java's ISO form of those years ({@code +10000-…}, {@code 0000-…}) is not PostgreSQL input.
 */
final class PostgresTimes {

    static String format(OffsetDateTime value) {
        if (inIsoRange(value.getYear())) {
            return value.toString();
        }
        OffsetDateTime utc = value.withOffsetSameInstant(ZoneOffset.UTC);
        return date(utc.getYear(), utc.getMonthValue(), utc.getDayOfMonth(), " " + utc.toLocalTime() + "+00:00");
    }

    static String format(LocalDateTime value) {
        return inIsoRange(value.getYear()) ? value.toString()
                : date(value.getYear(), value.getMonthValue(), value.getDayOfMonth(), " " + value.toLocalTime());
    }

    static String format(LocalDate value) {
        return inIsoRange(value.getYear()) ? value.toString()
                : date(value.getYear(), value.getMonthValue(), value.getDayOfMonth(), "");
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
