package com.example.notes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sqlservice.AsyncSession;
import dev.sqlservice.testing.SqlServiceTest;
import java.util.Map;
import org.jooq.Record;
import org.jooq.Result;
import org.junit.jupiter.api.Test;

/** Uses sqlservice the way another project would: its own migration, plain SQL, the JUnit harness. */
@SqlServiceTest
class NotesTest {

    @Test
    void writes_and_reads_notes_with_named_parameters(AsyncSession session) {
        int inserted = session.execute("insert into notes (body) values (:first), (:second)",
                Map.of("first", "hello", "second", "world")).toCompletableFuture().join();
        assertThat(inserted).isEqualTo(2);

        Result<Record> all = session.all("select id, body from notes order by id").toCompletableFuture().join();
        assertThat(all).extracting(r -> r.get("body", String.class)).containsExactly("hello", "world");

        long id = all.get(1).get("id", Long.class);
        Record one = session.one("select body from notes where id = :id", Map.of("id", id))
                .toCompletableFuture().join();
        assertThat(one.get("body", String.class)).isEqualTo("world");
    }

    @Test
    void the_database_was_migrated_from_the_consumers_own_classpath(AsyncSession session) {
        Record v1 = session.one("select version, description, success from flyway_schema_history where version = :v",
                Map.of("v", "1")).toCompletableFuture().join();
        assertThat(v1.get("description", String.class)).isEqualTo("notes");
        assertThat(v1.get("success", Boolean.class)).isTrue();
    }
}
