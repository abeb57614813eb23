package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.jooq.SQLDialect;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The backends are chosen once, at {@code build()}, from the dialect or the URL: every supported one is found by
 * both, and anything else fails there, before any connection, with a message naming what is supported. No server
 * is needed: the URLs point at a closed port, so a build that tried to connect would fail differently.
 */
class BackendTest {

    private static final String CLOSED_PORT = "127.0.0.1:1";

    @Test
    void every_supported_backend__is_found_by_its_dialect_and_by_its_url() {
        assertThat(Backend.supported()).extracting(Backend::dialect)
                .containsExactly(SQLDialect.POSTGRES, SQLDialect.MARIADB, SQLDialect.MYSQL);
        for (Backend backend : Backend.supported()) {
            assertThat(Backend.of(backend.dialect())).isSameAs(backend);
            assertThat(Backend.forUrl(backend.urlPrefix() + "//" + CLOSED_PORT + "/db")).isSameAs(backend);
        }
        assertThat(Backend.supported()).extracting(Backend::vendor).containsExactly("postgresql", "mariadb", "mysql");
        assertThat(Backend.forUrl("jdbc:h2:mem:x")).isNull();
        assertThat(Backend.forUrl(null)).isNull();
    }

    @Test
    void a_url_of_an_unsupported_driver__fails_at_build_naming_the_supported_urls() {
        for (String url : List.of("jdbc:h2:mem:x", "jdbc:sqlite:/tmp/x.db", "jdbc:yugabytedb://" + CLOSED_PORT + "/db")) {
            assertThatThrownBy(() -> Database.builder().url(url).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("cannot infer the dialect from url")
                    .hasMessageContaining("jdbc:postgresql:, jdbc:mariadb:, jdbc:mysql:")
                    .hasMessageContaining("dialect(SQLDialect)");
        }
    }

    @Test
    void an_unsupported_dialect__fails_at_build_before_connecting_naming_the_supported_ones() {
        for (SQLDialect dialect : List.of(SQLDialect.H2, SQLDialect.SQLITE, SQLDialect.DEFAULT)) {
            String expected = "sqlservice does not support the dialect " + dialect + "; supported: POSTGRES, MARIADB, MYSQL";
            assertThatThrownBy(() -> Database.builder().url("jdbc:postgresql://" + CLOSED_PORT + "/db").dialect(dialect)
                            .acquisitionTimeout(Duration.ofSeconds(1)).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage(expected);

            PGSimpleDataSource dataSource = new PGSimpleDataSource();
            dataSource.setURL("jdbc:postgresql://" + CLOSED_PORT + "/db");
            dataSource.setConnectTimeout(1);
            assertThatThrownBy(() -> Database.builder().dataSource(dataSource).dialect(dialect).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage(expected);
        }
    }
}
