package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The COPY text of dates outside years 1–9999 is PostgreSQL's input whatever the JVM's default locale: a locale with
 * digits of its own (Thai digits here) must not reach the text, or PostgreSQL refuses the date (found in the fifth
 * session's review notes: {@code String.format} in the default locale).
 */
@Isolated("sets the JVM's default locale")
class CopyTimesLocaleTest {

    @Test
    void dates_outside_the_iso_years_are_written_in_ascii_digits_in_any_default_locale() {
        Locale before = Locale.getDefault();
        Locale.setDefault(Locale.forLanguageTag("th-TH-u-nu-thai"));
        try {
            assertThat(String.format("%04d", 10000)).as("the locale has digits of its own").isNotEqualTo("10000");
            assertThat(PostgresBackend.Times.format(LocalDate.of(10000, 1, 1))).isEqualTo("10000-01-01");
            assertThat(PostgresBackend.Times.format(LocalDate.of(0, 6, 1))).isEqualTo("0001-06-01 BC");
            assertThat(PostgresBackend.Times.format(LocalDateTime.of(-1, 6, 1, 12, 0))).isEqualTo("0002-06-01 12:00 BC");
            assertThat(PostgresBackend.Times.format(OffsetDateTime.of(10000, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC)))
                    .isEqualTo("10000-01-01 00:00+00:00");
        } finally {
            Locale.setDefault(before);
        }
    }
}
