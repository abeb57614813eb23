package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.tables.records.UsersRecord;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

@ExampleDatabase
class SmokeTest {
    @Test
    void smoke(AsyncSession session) {
        UsersRecord max = new UsersRecord();
        max.setId(4L);
        max.setName("Max");
        UsersRecord saved = session.save(max).toCompletableFuture().join();
        assertThat(saved).isSameAs(max);
        assertThat(max.getCreatedAt()).isNotNull();
        assertThat(max.touched()).isFalse();
        UsersRecord jack = new UsersRecord();
        jack.setName("Jack");
        List<UsersRecord> both = session.saveAll(List.of(jack, max)).toCompletableFuture().join();
        assertThat(both.get(0).getId()).isNotNull();
        assertThat(session.all(selectFrom(USERS)).toCompletableFuture().join()).hasSize(2);
        assertThat(session.one("select name from users where id = :id", Map.of("id", 4L)).toCompletableFuture().join().get("name")).isEqualTo("Max");
    }
}
