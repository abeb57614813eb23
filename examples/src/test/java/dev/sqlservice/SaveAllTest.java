package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.BLOBS;
import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.POST_TAGS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.jooq.impl.DSL.selectFrom;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.example.schema.enums.PostStatus;
import dev.sqlservice.example.schema.tables.records.PostTagsRecord;
import dev.sqlservice.example.schema.tables.records.PostsRecord;
import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.TableField;
import org.jooq.UpdatableRecord;
import org.jooq.exception.DataAccessException;
import org.jooq.exception.SQLStateClass;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.jooq.impl.TableImpl;
import org.jooq.impl.UpdatableRecordImpl;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code save} / {@code saveAll}: upserts by primary key, PATCH semantics, refresh of the records, atomicity and
 * records left untouched on failure, ordering, concurrency and misuse.
 */
@ExampleDatabase
class SaveAllTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final Duration LONG_TIMEOUT = Duration.ofSeconds(120);
    private static final OffsetDateTime OLD = OffsetDateTime.of(2000, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC);

    private boolean postgres;

    @BeforeEach
    void backend(TestDatabase test) {
        postgres = test.dialect().family() == SQLDialect.POSTGRES;
    }

    /** The same SQL (or expectation) in each backend's own words, where they differ. */
    private String sql(String postgresSql, String mariaDbSql) {
        return postgres ? postgresSql : mariaDbSql;
    }

    /**
     * The SQLState of an integrity constraint violation: PostgreSQL names the constraint kind (23502 NOT NULL,
     * 23503 foreign key, 23505 unique); MariaDB reports 23000 for all of them.
     */
    private String integrity(String postgresSqlState) {
        return sql(postgresSqlState, "23000");
    }

    /** The integers 1..n as a row source with a column {@code g}. */
    private String series(int n) {
        return sql("generate_series(1, " + n + ") as g", "(select seq as g from seq_1_to_" + n + ") as s");
    }

    // =========================================================================================================
    // 1. Returns the very instances, in input order
    // =========================================================================================================

    @Test
    void saveAll__returns_the_same_instances_in_input_order(AsyncSession session, DSLContext dsl) {
        insertUser(dsl, 100, "old", null);
        UsersRecord c = user(30, "c");
        UsersRecord generated = newUser("generated");
        UsersRecord a = user(100, "a");
        UsersRecord b = user(20, "b");
        List<UsersRecord> input = List.of(c, generated, a, b);

        List<UsersRecord> saved = await(session.saveAll(input));

        assertThat(saved).hasSize(4);
        for (int i = 0; i < input.size(); i++) {
            assertThat(saved.get(i)).as("saved[%d]", i).isSameAs(input.get(i));
        }
        assertThat(dsl.fetchCount(USERS)).isEqualTo(4);
    }

    @Test
    void save__returns_the_same_instance(AsyncSession session, DSLContext dsl) {
        UsersRecord max = user(4, "Max");

        UsersRecord saved = await(session.save(max));

        assertThat(saved).isSameAs(max);
        assertThat(dsl.fetchValue(USERS.NAME, USERS.ID.eq(4L))).isEqualTo("Max");
    }

    // =========================================================================================================
    // 2. Upsert by primary key
    // =========================================================================================================

    @Test
    void saveAll__inserts_new_keys_and_updates_existing_keys_in_the_database(AsyncSession session, DSLContext dsl) {
        insertUser(dsl, 1, "a", "a@x");
        insertUser(dsl, 2, "b", "b@x");
        insertUser(dsl, 4, "d", "d@x");
        UsersRecord two = user(2, "B");
        two.setEmail("B2@x");

        await(session.saveAll(List.of(two, user(3, "C"), user(1, "A"))));

        assertThat(dsl.fetchCount(USERS)).isEqualTo(4);
        Map<Long, UsersRecord> rows = dsl.selectFrom(USERS).fetchMap(USERS.ID);
        assertThat(rows.get(1L).getName()).isEqualTo("A");
        assertThat(rows.get(1L).getEmail()).isEqualTo("a@x");
        assertThat(rows.get(2L).getName()).isEqualTo("B");
        assertThat(rows.get(2L).getEmail()).isEqualTo("B2@x");
        assertThat(rows.get(3L).getName()).isEqualTo("C");
        assertThat(rows.get(3L).getEmail()).isNull();
        assertThat(rows.get(4L).getName()).isEqualTo("d");
        assertThat(rows.get(4L).getEmail()).isEqualTo("d@x");
        assertThat(rows.get(1L).getCreatedAt().toInstant()).isEqualTo(OLD.toInstant());
        assertThat(rows.get(3L).getCreatedAt().toInstant()).isNotEqualTo(OLD.toInstant());
    }

    @Test
    void saveAll__stores_enum_jsonb_and_text_that_needs_escaping_exactly(AsyncSession session, DSLContext dsl) {
        String tricky = "quote \" backslash \\ newline \n tab \t cr \r bell \u0007 unicode é ✓ 😀 {\"k\":1} ' ;--";
        UsersRecord user = user(1, tricky);
        PostsRecord post = post(1, 1, "title");
        post.setBody(tricky);
        post.setStatus(PostStatus.published);
        String json = "{\"a\": [1, 2.5, \"x\\\"y\\\\z\"], \"b\": {\"c\": null, \"d\": true}, \"e\": \"\\n\"}";
        post.setMetadata(JSONB.valueOf(json));

        await(session.saveAll(List.of(user, post)));

        assertThat(dsl.fetchValue(USERS.NAME, USERS.ID.eq(1L))).isEqualTo(tricky);
        assertThat(dsl.fetchValue(POSTS.BODY, POSTS.ID.eq(1L))).isEqualTo(tricky);
        assertThat(dsl.fetchValue(POSTS.STATUS, POSTS.ID.eq(1L))).isEqualTo(PostStatus.published);
        assertThat(dsl.fetchValue(sql("select cast(status as text) from posts where id = 1",
                "select cast(status as char) from posts where id = 1"))).isEqualTo("published");
        // JSON compared as JSON values: jsonb equality on PostgreSQL, json_equals on MariaDB (whose JSON is text)
        assertThat(isTrue(dsl, sql("select metadata = cast(? as jsonb) from posts where id = 1",
                "select json_equals(metadata, ?) from posts where id = 1"), json)).isTrue();
        assertThat(dsl.fetchValue(sql("select jsonb_typeof(metadata) from posts where id = 1",
                "select lower(json_type(metadata)) from posts where id = 1"))).isEqualTo("object");
        assertThat(post.getStatus()).isEqualTo(PostStatus.published);
        assertThat(isTrue(dsl, sql("select cast(? as jsonb) = cast(? as jsonb)", "select json_equals(?, ?)"),
                post.getMetadata().data(), json)).isTrue();
    }

    @Test
    void saveAll__stores_timestamps_outside_the_years_1_to_9999_that_jooq_itself_stores(AsyncSession session,
            DSLContext dsl) {
        // PostgreSQL's timestamptz runs from 4713 BC to 294276 AD; jOOQ's own insert stores these values.
        assumeTrue(postgres, "MariaDB's TIMESTAMP runs from 1970 to 2038 only");
        List<OffsetDateTime> values = List.of(
                OffsetDateTime.of(10_000, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC),
                OffsetDateTime.of(0, 6, 1, 12, 0, 0, 0, ZoneOffset.UTC)); // 1 BC
        for (int i = 0; i < values.size(); i++) {
            UsersRecord viaJooq = user(100 + i, "jooq");
            viaJooq.setCreatedAt(values.get(i));
            assertThat(dsl.executeInsert(viaJooq)).isEqualTo(1);
            assertThat(dsl.fetchValue(USERS.CREATED_AT, USERS.ID.eq(100L + i)).toInstant())
                    .isEqualTo(values.get(i).toInstant());
        }
        List<UsersRecord> users = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) {
            UsersRecord u = user(i + 1, "saveAll");
            u.setCreatedAt(values.get(i));
            users.add(u);
        }

        await(session.saveAll(users));

        for (int i = 0; i < values.size(); i++) {
            assertThat(dsl.fetchValue(USERS.CREATED_AT, USERS.ID.eq(i + 1L)).toInstant()).as("created_at of user %d", i + 1)
                    .isEqualTo(values.get(i).toInstant());
        }
    }

    // =========================================================================================================
    // 3. Only changed fields are written (PATCH)
    // =========================================================================================================

    @Test
    void saveAll__writes_only_changed_fields_and_keeps_the_other_stored_columns(AsyncSession session, DSLContext dsl) {
        insertUser(dsl, 1, "Ann", "ann@x");
        insertPost(dsl, 1, 1, "T", "B", "{\"k\": 1}", PostStatus.published);
        UsersRecord emailOnly = new UsersRecord();
        emailOnly.setId(1L);
        emailOnly.setEmail("new@x");
        PostsRecord titleOnly = new PostsRecord();
        titleOnly.setId(1L);
        titleOnly.setTitle("T2");

        await(session.saveAll(List.of(emailOnly, titleOnly)));

        UsersRecord u = dsl.fetchSingle(USERS, USERS.ID.eq(1L));
        assertThat(u.getName()).isEqualTo("Ann");
        assertThat(u.getEmail()).isEqualTo("new@x");
        assertThat(u.getCreatedAt().toInstant()).isEqualTo(OLD.toInstant());
        PostsRecord p = dsl.fetchSingle(POSTS, POSTS.ID.eq(1L));
        assertThat(p.getTitle()).isEqualTo("T2");
        assertThat(p.getUserId()).isEqualTo(1L);
        assertThat(p.getBody()).isEqualTo("B");
        assertThat(p.getStatus()).isEqualTo(PostStatus.published);
        assertThat(isTrue(dsl, sql("select metadata = cast(? as jsonb) from posts where id = 1",
                "select json_equals(metadata, ?) from posts where id = 1"), "{\"k\": 1}")).isTrue();
        assertThat(dsl.fetchCount(USERS)).isEqualTo(1);
        assertThat(dsl.fetchCount(POSTS)).isEqualTo(1);
        // and the records now hold the columns they did not set, as stored
        assertThat(emailOnly.getName()).isEqualTo("Ann");
        assertThat(titleOnly.getUserId()).isEqualTo(1L);
        assertThat(titleOnly.getBody()).isEqualTo("B");
    }

    @Test
    void saveAll__writes_a_field_explicitly_set_to_null(AsyncSession session, DSLContext dsl) {
        insertUser(dsl, 1, "Ann", "ann@x");
        UsersRecord clear = new UsersRecord();
        clear.setId(1L);
        clear.setEmail(null);
        assertThat(clear.touched(USERS.EMAIL)).isTrue();

        await(session.saveAll(List.of(clear)));

        assertThat(dsl.fetchValue(USERS.EMAIL, USERS.ID.eq(1L))).isNull();
        assertThat(dsl.fetchValue(USERS.NAME, USERS.ID.eq(1L))).isEqualTo("Ann");
    }

    @Test
    void saveAll__fails_with_23502_and_writes_nothing_when_a_new_row_misses_a_not_null_column(
            AsyncSession session, DSLContext dsl) {
        UsersRecord valid = user(1, "ok");
        PostsRecord noUserId = new PostsRecord();
        noUserId.setId(7L);
        noUserId.setTitle("orphan");

        awaitFailure(session.saveAll(List.of(valid, noUserId)), integrity("23502"));

        assertThat(dsl.fetchCount(USERS)).isZero();
        assertThat(dsl.fetchCount(POSTS)).isZero();
    }

    @Test
    void saveAll__fails_with_23502_for_a_new_user_without_a_name(AsyncSession session, DSLContext dsl) {
        insertUser(dsl, 1, "existing", null);
        UsersRecord emailOnly = new UsersRecord();
        emailOnly.setId(2L);
        emailOnly.setEmail("two@x");

        awaitFailure(session.saveAll(List.of(user(1, "renamed"), emailOnly)), integrity("23502"));

        assertThat(dsl.fetchCount(USERS)).isEqualTo(1);
        assertThat(dsl.fetchValue(USERS.NAME, USERS.ID.eq(1L))).isEqualTo("existing");
    }

    // =========================================================================================================
    // 4. Records hold the stored row afterwards
    // =========================================================================================================

    @Test
    void saveAll__refreshes_records_with_identity_default_and_column_default_values(AsyncSession session, DSLContext dsl) {
        UsersRecord user = newUser("Ann");
        await(session.save(user));
        PostsRecord post = new PostsRecord();
        post.setUserId(user.getId());
        post.setTitle("hello");

        await(session.saveAll(List.of(post)));

        UsersRecord storedUser = dsl.fetchSingle(USERS, USERS.NAME.eq("Ann"));
        assertThat(user.getId()).isEqualTo(storedUser.getId()).isNotNull();
        assertThat(user.getCreatedAt()).isNotNull();
        assertThat(user.getCreatedAt().toInstant()).isEqualTo(storedUser.getCreatedAt().toInstant());
        PostsRecord storedPost = dsl.fetchSingle(POSTS, POSTS.TITLE.eq("hello"));
        assertThat(post.getId()).isEqualTo(storedPost.getId()).isNotNull();
        assertThat(post.getStatus()).isEqualTo(PostStatus.draft).isEqualTo(storedPost.getStatus());
        assertThat(post.getUpdatedAt()).isNotNull();
        assertThat(post.getUpdatedAt().toInstant()).isEqualTo(storedPost.getUpdatedAt().toInstant());
        assertThat(normalized(user)).isEqualTo(normalized(storedUser));
        assertThat(normalized(post)).isEqualTo(normalized(storedPost));
        for (Record r : List.of(user, post)) {
            assertThat(r.touched()).as("changed() of %s", r).isFalse();
            for (int i = 0; i < r.size(); i++) {
                assertThat(r.original(i)).as("original(%d) of %s", i, r).isEqualTo(r.get(i));
            }
        }
    }

    @Test
    void saveAll__refreshes_updated_at_set_by_the_trigger_on_update(AsyncSession session, DSLContext dsl) {
        insertUser(dsl, 1, "Ann", null);
        insertPost(dsl, 1, 1, "T", "B", null, PostStatus.archived);
        assertThat(dsl.fetchValue(POSTS.UPDATED_AT, POSTS.ID.eq(1L)).toInstant()).isEqualTo(OLD.toInstant());
        PostsRecord edit = new PostsRecord();
        edit.setId(1L);
        edit.setTitle("T2");

        await(session.saveAll(List.of(edit)));

        PostsRecord stored = dsl.fetchSingle(POSTS, POSTS.ID.eq(1L));
        assertThat(stored.getUpdatedAt().toInstant()).isNotEqualTo(OLD.toInstant());
        assertThat(edit.getUpdatedAt().toInstant()).isEqualTo(stored.getUpdatedAt().toInstant());
        assertThat(normalized(edit)).isEqualTo(normalized(stored));
        assertThat(edit.getStatus()).isEqualTo(PostStatus.archived);
        assertThat(edit.touched()).isFalse();
    }

    @Test
    void save__leaves_the_value_as_the_database_stored_it_not_as_it_was_sent(AsyncSession session, DSLContext dsl) {
        UsersRecord user = user(1, "Ann");
        // Both keep microseconds: PostgreSQL rounds the nanoseconds away, MariaDB's TIMESTAMP(6) truncates them
        OffsetDateTime sent = OffsetDateTime.of(2021, 3, 4, 5, 6, 7, 123_456_789, ZoneOffset.ofHours(2));
        user.setCreatedAt(sent);

        await(session.save(user));

        OffsetDateTime stored = dsl.fetchValue(USERS.CREATED_AT, USERS.ID.eq(1L));
        assertThat(stored.toInstant()).isEqualTo(Instant.parse(sql("2021-03-04T03:06:07.123457Z",
                "2021-03-04T03:06:07.123456Z")));
        assertThat(user.getCreatedAt().toInstant()).isEqualTo(stored.toInstant());
        assertThat(user.touched()).isFalse();
    }

    @Test
    void saveAll__matches_binary_keys_the_database_hands_back_as_new_arrays(AsyncSession session, DSLContext dsl) {
        byte[] existing = {1, 2, 3, (byte) 0xff};
        byte[] fresh = {0, (byte) 0x80};
        dsl.insertInto(BLOBS, BLOBS.DIGEST, BLOBS.NAME).values(existing.clone(), "stored").execute();
        // Only the key: nothing to update, so PostgreSQL returns no row for it and the record is refreshed by a
        // select; MariaDB refreshes every keyed record that way.
        var keyOnly = new dev.sqlservice.example.schema.tables.records.BlobsRecord();
        keyOnly.setDigest(existing.clone());
        var renamed = new dev.sqlservice.example.schema.tables.records.BlobsRecord();
        renamed.setDigest(fresh.clone());
        renamed.setName("fresh");

        await(session.saveAll(List.of(keyOnly, renamed)));
        renamed.setName("renamed");
        await(session.save(renamed));

        assertThat(keyOnly.getName()).isEqualTo("stored");
        assertThat(keyOnly.touched()).isFalse();
        assertThat(renamed.touched()).isFalse();
        assertThat(dsl.fetchValue(BLOBS.NAME, BLOBS.DIGEST.eq(fresh))).isEqualTo("renamed");
        assertThat(dsl.fetchCount(BLOBS)).isEqualTo(2);
    }

    // =========================================================================================================
    // 5. Generated keys and composite keys
    // =========================================================================================================

    @Test
    void saveAll__gives_each_record_without_a_key_its_own_generated_key(AsyncSession session, DSLContext dsl) {
        List<UsersRecord> users = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            UsersRecord u = newUser("n" + i);
            if (i % 3 == 1) {
                u.setEmail("n" + i + "@x"); // a second set of columns: a second statement
            }
            users.add(u);
        }

        // what each record asked for, captured before the call refreshes the records
        List<String> names = users.stream().map(UsersRecord::getName).toList();
        List<String> emails = users.stream().map(UsersRecord::getEmail).toList();

        List<UsersRecord> saved = await(session.saveAll(users));

        assertThat(saved).hasSize(7);
        Set<Long> ids = new HashSet<>();
        Map<Long, UsersRecord> rows = dsl.selectFrom(USERS).fetchMap(USERS.ID);
        assertThat(rows).hasSize(7);
        for (int i = 0; i < users.size(); i++) {
            UsersRecord u = users.get(i);
            assertThat(saved.get(i)).isSameAs(u);
            assertThat(u.getId()).as("id of records[%d]", i).isNotNull();
            ids.add(u.getId());
            assertThat(rows.get(u.getId()).getName()).as("name stored under the id of records[%d]", i)
                    .isEqualTo(names.get(i));
            assertThat(rows.get(u.getId()).getEmail()).isEqualTo(emails.get(i));
            assertThat(u.getName()).isEqualTo(names.get(i));
            assertThat(u.getEmail()).isEqualTo(emails.get(i));
        }
        assertThat(ids).hasSize(7);
    }

    @Test
    void saveAll__upserts_records_with_a_composite_primary_key(AsyncSession session, DSLContext dsl) {
        insertUser(dsl, 1, "Ann", null);
        insertPost(dsl, 1, 1, "T", null, null, PostStatus.draft);
        insertPost(dsl, 2, 1, "U", null, null, PostStatus.draft);

        await(session.saveAll(List.of(tag(1, "b"), tag(1, "a"), tag(2, "a"))));
        PostTagsRecord again = tag(1, "a");
        await(session.saveAll(List.of(again, tag(2, "c"))));

        assertThat(dsl.select(POST_TAGS.POST_ID, POST_TAGS.TAG).from(POST_TAGS)
                        .orderBy(POST_TAGS.POST_ID, POST_TAGS.TAG).fetch(r -> r.value1() + ":" + r.value2()))
                .containsExactly("1:a", "1:b", "2:a", "2:c");
        assertThat(again.touched()).isFalse();
    }

    @Test
    void saveAll__rejects_a_partly_set_composite_key_before_any_sql(AsyncSession session, Session blocking,
            DSLContext dsl) {
        UsersRecord valid = user(1, "valid");
        PostTagsRecord noTag = new PostTagsRecord();
        noTag.setPostId(1L);
        PostTagsRecord noPost = new PostTagsRecord();
        noPost.setTag("x");

        assertThatIllegalArgumentException().isThrownBy(() -> session.saveAll(List.of(valid, noTag)))
                .withMessageContaining("records[1]");
        assertThatIllegalArgumentException().isThrownBy(() -> session.saveAll(List.of(valid, tag(1, "ok"), noPost)))
                .withMessageContaining("records[2]");
        assertThatIllegalArgumentException().isThrownBy(() -> session.save(noTag));
        assertThatIllegalArgumentException().isThrownBy(() -> blocking.saveAll(List.of(valid, noTag)));

        assertThat(dsl.fetchCount(USERS)).isZero();
        assertThat(valid.touched(USERS.NAME)).isTrue();
        assertThat(valid.getCreatedAt()).isNull();
    }

    // =========================================================================================================
    // 6. Volume
    // =========================================================================================================

    @Test
    @Tag("slow")
    void saveAll__upserts_100_000_records_in_one_call(AsyncSession session, DSLContext dsl) {
        dsl.execute("insert into users (id, name, email, created_at) select g, concat('old-', g), concat('old-', g, '@x'),"
                + " {0} from " + series(50_000), timestamp(OLD));
        List<UsersRecord> users = new ArrayList<>(100_000);
        for (long id = 1; id <= 100_000; id++) {
            users.add(user(id, "new-" + id));
        }
        Collections.shuffle(users, new Random(42));

        List<UsersRecord> saved = awaitLong(session.saveAll(users));

        assertThat(saved).hasSize(100_000);
        for (int i : new int[] {0, 1, 49_999, 77_777, 99_999}) {
            assertThat(saved.get(i)).isSameAs(users.get(i));
        }
        assertThat(dsl.fetchCount(USERS)).isEqualTo(100_000);
        assertThat(dsl.fetchValue("select count(*) from users where name = concat('new-', id)")).isEqualTo(100_000L);
        assertThat(dsl.fetchValue("select count(*) from users where id <= 50000 and email = concat('old-', id, '@x')"
                + " and created_at = {0}", timestamp(OLD))).isEqualTo(50_000L);
        assertThat(dsl.fetchValue("select count(*) from users where id > 50000 and email is null"
                + " and created_at > {0}", timestamp(OLD))).isEqualTo(50_000L);
        Map<Long, UsersRecord> byId = new java.util.HashMap<>();
        users.forEach(u -> byId.put(u.getId(), u));
        for (long id : new long[] {1, 123, 50_000, 50_001, 77_777, 100_000}) {
            UsersRecord stored = dsl.fetchSingle(USERS, USERS.ID.eq(id));
            assertThat(stored.getName()).isEqualTo("new-" + id);
            assertThat(normalized(byId.get(id))).as("record %d", id).isEqualTo(normalized(stored));
            assertThat(byId.get(id).touched()).isFalse();
        }
    }

    // =========================================================================================================
    // 7. Atomicity; records untouched on failure
    // =========================================================================================================

    @Test
    void saveAll__writes_nothing_and_restores_every_record_when_the_last_of_20_000_rows_violates_a_foreign_key(
            AsyncSession session, DSLContext dsl) {
        dsl.execute("insert into users (id, name, email, created_at) select g, concat('old-', g), concat('old-', g, '@x'),"
                + " {0} from " + series(1000), timestamp(OLD));
        List<UsersRecord> fetched = await(session.all(selectFrom(USERS).orderBy(USERS.ID)));
        List<UpdatableRecord<?>> input = new ArrayList<>(20_000);
        for (UsersRecord u : fetched) {
            u.setName("changed-" + u.getId());
            if (u.getId() % 10 == 0) {
                u.setEmail(null);
            }
            input.add(u);
        }
        for (long id = 1001; id <= 19_999; id++) {
            UsersRecord u = user(id, "fresh-" + id);
            if (id % 7 == 0) {
                u.setEmail("fresh-" + id + "@x");
            }
            input.add(u);
        }
        Collections.shuffle(input, new Random(7));
        input.add(post(1, 999_999, "orphan"));
        assertThat(input).hasSize(20_000);
        List<List<Object>> before = input.stream().map(SaveAllTest::stateOf).toList();
        List<List<Object>> dbBefore = dsl.selectFrom(USERS).orderBy(USERS.ID).fetch().map(SaveAllTest::normalized);

        awaitFailure(session.saveAll(input), integrity("23503"), LONG_TIMEOUT);

        assertThat(dsl.fetchCount(USERS)).isEqualTo(1000);
        assertThat(dsl.fetchCount(POSTS)).isZero();
        assertThat(dsl.selectFrom(USERS).orderBy(USERS.ID).fetch().map(SaveAllTest::normalized)).isEqualTo(dbBefore);
        assertRestored(input, before);
    }

    @Test
    void saveAll__writes_nothing_and_restores_every_record_when_a_row_violates_not_null(
            AsyncSession session, DSLContext dsl) {
        // explicit ids above the identity's next values (MariaDB's AUTO_INCREMENT continues after the largest id
        // anyway): the generated key cannot collide with them
        insertUser(dsl, 101, "one", "one@x");
        insertUser(dsl, 102, "two", "two@x");
        UsersRecord fetched = await(session.one(selectFrom(USERS).where(USERS.ID.eq(101L))));
        fetched.setName("one!");
        fetched.setEmail(null);
        UsersRecord fetchedUnchanged = await(session.one(selectFrom(USERS).where(USERS.ID.eq(102L))));
        UsersRecord fresh = user(103, "three");
        UsersRecord generated = newUser("generated");
        UsersRecord noName = new UsersRecord();
        noName.setId(104L);
        noName.setEmail("four@x");
        PostsRecord post = post(1, 101, "post of one");
        List<UpdatableRecord<?>> input = List.of(fetched, fetchedUnchanged, post, noName, fresh, generated);
        List<List<Object>> before = input.stream().map(SaveAllTest::stateOf).toList();
        List<List<Object>> dbBefore = dsl.selectFrom(USERS).orderBy(USERS.ID).fetch().map(SaveAllTest::normalized);

        awaitFailure(session.saveAll(input), integrity("23502"));

        assertThat(dsl.selectFrom(USERS).orderBy(USERS.ID).fetch().map(SaveAllTest::normalized)).isEqualTo(dbBefore);
        assertThat(dsl.fetchCount(POSTS)).isZero();
        assertRestored(input, before);
        assertThat(generated.getId()).isNull();
        assertThat(fetched.original(USERS.NAME)).isEqualTo("one");
        assertThat(fetched.touched(USERS.NAME)).isTrue();
        assertThat(fetched.touched(USERS.CREATED_AT)).isFalse();
    }

    @Test
    void save__on_the_blocking_session_restores_the_record_when_the_database_rejects_it(Session session,
            DSLContext dsl) {
        insertUser(dsl, 1, "Ann", null);
        PostsRecord post = post(5, 42, "no such user");
        post.setStatus(PostStatus.published);
        List<Object> before = stateOf(post);

        Throwable thrown = catchThrowable(() -> session.save(post));

        assertThat(thrown).isInstanceOf(DataAccessException.class);
        assertThat(((DataAccessException) thrown).sqlState()).isEqualTo(integrity("23503"));
        assertThat(((DataAccessException) thrown).sqlStateClass())
                .isEqualTo(SQLStateClass.C23_INTEGRITY_CONSTRAINT_VIOLATION);
        assertThat(stateOf(post)).isEqualTo(before);
        assertThat(dsl.fetchCount(POSTS)).isZero();
    }

    @Test
    void saveAll_in_a_transaction__rolls_back_only_its_own_part_when_it_fails(Session session, DSLContext dsl) {
        UsersRecord three = user(3, "three");
        PostsRecord orphan = post(1, 999, "orphan");
        List<Object> threeBefore = stateOf(three);
        List<Object> orphanBefore = stateOf(orphan);

        String result = session.transaction(tx -> {
            tx.saveAll(List.of(user(1, "first")));
            tx.execute(DSL.insertInto(USERS).set(USERS.ID, 2L).set(USERS.NAME, "second"));
            Throwable failure = catchThrowable(() -> tx.saveAll(List.of(three, orphan)));
            assertThat(failure).isInstanceOf(DataAccessException.class);
            assertThat(((DataAccessException) failure).sqlState()).isEqualTo(integrity("23503"));
            assertThat(((DataAccessException) failure).sqlStateClass())
                    .isEqualTo(SQLStateClass.C23_INTEGRITY_CONSTRAINT_VIOLATION);
            tx.save(user(4, "after"));
            return "done";
        });

        assertThat(result).isEqualTo("done");
        assertThat(dsl.select(USERS.ID).from(USERS).orderBy(USERS.ID).fetch(USERS.ID)).containsExactly(1L, 2L, 4L);
        assertThat(dsl.fetchCount(POSTS)).isZero();
        assertThat(stateOf(three)).isEqualTo(threeBefore);
        assertThat(stateOf(orphan)).isEqualTo(orphanBefore);
    }

    @Test
    void saveAll_in_an_async_transaction__rolls_back_only_its_own_part_when_it_fails(AsyncSession session,
            DSLContext dsl) {
        CompletionStage<Long> stage = session.transaction(tx -> {
            tx.saveAll(List.of(user(1, "first")));
            CompletionStage<List<UpdatableRecord<?>>> failing = session.saveAll(List.<UpdatableRecord<?>>of(
                    user(2, "second"), post(1, 999, "orphan")));
            assertThat(failing).failsWithin(TIMEOUT).withThrowableOfType(ExecutionException.class)
                    .withCauseInstanceOf(DataAccessException.class);
            return tx.dsl().fetchCount(USERS) * 1L;
        });

        assertThat(await(stage)).isEqualTo(1L);
        assertThat(dsl.select(USERS.ID).from(USERS).fetch(USERS.ID)).containsExactly(1L);
    }

    @Test
    void saveAll__restores_every_record_when_the_commit_rejects_a_deferred_constraint(AsyncSession session,
            DSLContext dsl) {
        // A deferred constraint is checked at commit, after every statement of the saveAll succeeded.
        assumeTrue(postgres, "MariaDB has no deferrable constraints");
        dsl.execute("alter table users add constraint saveall_test_name_deferred unique (name)"
                + " deferrable initially deferred");
        try {
            UsersRecord first = user(1, "same");
            UsersRecord second = user(2, "same");
            List<UsersRecord> input = List.of(first, second);
            List<List<Object>> before = input.stream().map(SaveAllTest::stateOf).toList();

            awaitFailure(session.saveAll(input), "23505");

            assertThat(dsl.fetchCount(USERS)).isZero();
            assertRestored(input, before);
        } finally {
            dsl.execute("alter table users drop constraint saveall_test_name_deferred");
        }
    }

    // =========================================================================================================
    // 8. Parents first
    // =========================================================================================================

    @Test
    void saveAll__writes_parents_before_children_whatever_the_input_order(AsyncSession session, DSLContext dsl) {
        PostTagsRecord tag = tag(10, "java");
        PostsRecord post = post(10, 20, "child of user 20");
        UsersRecord user = user(20, "parent");

        List<UpdatableRecord<?>> saved = await(session.saveAll(List.of(tag, post, user)));

        assertThat(saved).hasSize(3);
        assertThat(saved.get(0)).isSameAs(tag);
        assertThat(saved.get(1)).isSameAs(post);
        assertThat(saved.get(2)).isSameAs(user);
        assertThat(dsl.fetchValue(USERS.NAME, USERS.ID.eq(20L))).isEqualTo("parent");
        assertThat(dsl.fetchValue(POSTS.USER_ID, POSTS.ID.eq(10L))).isEqualTo(20L);
        assertThat(dsl.fetchCount(POST_TAGS, POST_TAGS.POST_ID.eq(10L).and(POST_TAGS.TAG.eq("java")))).isEqualTo(1);
        assertThat(post.getStatus()).isEqualTo(PostStatus.draft);
        assertThat(user.getCreatedAt()).isNotNull();
    }

    // =========================================================================================================
    // 9. Concurrency
    // =========================================================================================================

    @Test
    @Tag("slow")
    void saveAll__concurrent_calls_over_the_same_keys_neither_deadlock_nor_duplicate_rows(AsyncSession session,
            DSLContext dsl) throws InterruptedException {
        int workers = 8;
        int keys = 10_000;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
        AtomicIntegerArray rounds = new AtomicIntegerArray(workers);
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            int worker = w;
            threads.add(Thread.ofPlatform().name("saveAll-worker-" + w).start(() -> {
                Random random = new Random(worker);
                try {
                    start.await();
                    for (int round = 0; System.nanoTime() < deadline || round == 0; round++) {
                        List<UsersRecord> users = new ArrayList<>(keys);
                        for (long id = 1; id <= keys; id++) {
                            users.add(user(id, "w" + worker + "-r" + round + "#" + id));
                        }
                        Collections.shuffle(users, random);
                        // a guard against a hang only: the calls queue behind each other's row locks
                        session.saveAll(users).toCompletableFuture().get(5, TimeUnit.MINUTES);
                        rounds.incrementAndGet(worker);
                    }
                } catch (Throwable t) {
                    errors.add(t instanceof ExecutionException e && e.getCause() != null ? e.getCause() : t);
                }
            }));
        }
        start.countDown();
        for (Thread t : threads) {
            t.join(TimeUnit.MINUTES.toMillis(10));
            assertThat(t.isAlive()).as("%s still running", t.getName()).isFalse();
        }

        assertThat(errors).as("errors (SQLStates %s)", errors.stream()
                .map(e -> e instanceof DataAccessException d ? d.sqlState() : e.toString()).toList()).isEmpty();
        for (int w = 0; w < workers; w++) {
            assertThat(rounds.get(w)).as("rounds of worker %d", w).isPositive();
        }
        assertThat(dsl.fetchCount(USERS)).isEqualTo(keys);
        assertThat(dsl.fetchValue("select count(distinct id) from users where id between 1 and 10000 and "
                + sql("name ~ '^w[0-7]-r[0-9]+#'", "name regexp '^w[0-7]-r[0-9]+#'")
                + " and name like concat('%#', id)")).isEqualTo((long) keys);
    }

    @Test
    @Tag("slow")
    void saveAll__concurrent_calls_that_set_different_columns_of_the_same_keys_do_not_deadlock(AsyncSession session,
            DSLContext dsl) throws InterruptedException {
        // As above, but records set created_at or not, in blocks of 500 keys that differ between workers: one call
        // then runs several statements (one per run of records setting the same columns), and each worker's calls
        // split the same keys differently. (Blocks rather than a coin per record keep the statement count, and so the
        // time MariaDB holds row locks, realistic.)
        int workers = 8;
        int keys = 10_000;
        OffsetDateTime when = OffsetDateTime.of(2020, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
        AtomicIntegerArray rounds = new AtomicIntegerArray(workers);
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            int worker = w;
            threads.add(Thread.ofPlatform().name("saveAll-shapes-worker-" + w).start(() -> {
                Random random = new Random(100 + worker);
                try {
                    start.await();
                    for (int round = 0; System.nanoTime() < deadline || round == 0; round++) {
                        List<UsersRecord> users = new ArrayList<>(keys);
                        for (long id = 1; id <= keys; id++) {
                            UsersRecord u = user(id, "w" + worker + "-r" + round + "#" + id);
                            if ((id / 500 + worker) % 2 == 0) {
                                u.setCreatedAt(when);
                            }
                            users.add(u);
                        }
                        Collections.shuffle(users, random);
                        session.saveAll(users).toCompletableFuture().get(5, TimeUnit.MINUTES);
                        rounds.incrementAndGet(worker);
                    }
                } catch (Throwable t) {
                    errors.add(t instanceof ExecutionException e && e.getCause() != null ? e.getCause() : t);
                }
            }));
        }
        start.countDown();
        for (Thread t : threads) {
            t.join(TimeUnit.MINUTES.toMillis(10));
            assertThat(t.isAlive()).as("%s still running", t.getName()).isFalse();
        }

        assertThat(errors).as("errors (SQLStates %s)", errors.stream()
                .map(e -> e instanceof DataAccessException d ? d.sqlState() : e.toString()).toList()).isEmpty();
        assertThat(dsl.fetchCount(USERS)).isEqualTo(keys);
    }

    // =========================================================================================================
    // 10. Conflicts on another unique key
    // =========================================================================================================

    @Test
    void saveAll__fails_with_23505_on_a_conflict_with_another_unique_key_and_leaves_the_other_row_alone(
            AsyncSession session, DSLContext dsl) {
        insertUser(dsl, 3, "Three", "a@x");
        List<Object> row3 = normalized(dsl.fetchSingle(USERS, USERS.ID.eq(3L)));
        UsersRecord five = user(5, "Five");
        five.setEmail("a@x");
        List<Object> fiveBefore = stateOf(five);

        DataAccessException e = awaitFailure(session.saveAll(List.of(five)), integrity("23505"));

        assertThat(e.sqlStateClass()).isEqualTo(SQLStateClass.C23_INTEGRITY_CONSTRAINT_VIOLATION);
        assertThat(normalized(dsl.fetchSingle(USERS, USERS.ID.eq(3L)))).isEqualTo(row3);
        assertThat(dsl.fetchCount(USERS, USERS.ID.eq(5L))).isZero();
        assertThat(dsl.fetchCount(USERS)).isEqualTo(1);
        assertThat(stateOf(five)).isEqualTo(fiveBefore);
    }

    @Test
    void saveAll__fails_with_23505_on_a_conflict_with_the_case_insensitive_email_index(AsyncSession session,
            DSLContext dsl) {
        insertUser(dsl, 3, "Three", "a@x");
        List<Object> row3 = normalized(dsl.fetchSingle(USERS, USERS.ID.eq(3L)));
        UsersRecord five = user(5, "Five");
        five.setEmail("A@X");

        // MariaDB has no expression index: its unique key on email is case-insensitive through the column's collation
        awaitFailure(session.saveAll(List.of(user(4, "Four"), five)), integrity("23505"));

        assertThat(normalized(dsl.fetchSingle(USERS, USERS.ID.eq(3L)))).isEqualTo(row3);
        assertThat(dsl.fetchCount(USERS)).isEqualTo(1);
    }

    // =========================================================================================================
    // 11. Misuse
    // =========================================================================================================

    @Test
    void save__rejects_a_null_record_at_once(AsyncSession session, Session blocking) {
        assertThatNullPointerException().isThrownBy(() -> session.save((UsersRecord) null))
                .withMessage("record == null");
        assertThatNullPointerException().isThrownBy(() -> blocking.save((UsersRecord) null))
                .withMessage("record == null");
    }

    @Test
    void saveAll__rejects_a_null_collection_at_once(AsyncSession session, Session blocking) {
        assertThatNullPointerException().isThrownBy(() -> session.saveAll((Collection<UsersRecord>) null))
                .withMessage("records == null");
        assertThatNullPointerException().isThrownBy(() -> blocking.saveAll((Collection<UsersRecord>) null))
                .withMessage("records == null");
    }

    @Test
    void saveAll__rejects_a_null_element_naming_its_index_before_any_sql(AsyncSession session, Session blocking,
            DSLContext dsl) {
        UsersRecord valid = user(1, "valid");
        List<UsersRecord> withNull = Arrays.asList(valid, null, user(2, "two"));

        assertThatNullPointerException().isThrownBy(() -> session.saveAll(withNull)).withMessage("records[1] == null");
        assertThatNullPointerException().isThrownBy(() -> blocking.saveAll(withNull)).withMessage("records[1] == null");

        assertThat(dsl.fetchCount(USERS)).isZero();
        assertThat(valid.touched()).isTrue();
        assertThat(valid.getCreatedAt()).isNull();
    }

    @Test
    void saveAll__rejects_a_record_of_a_table_without_a_primary_key_before_any_sql(AsyncSession session,
            Session blocking, DSLContext dsl) {
        NoKeyRecord noKey = new NoKeyRecord();
        noKey.set(NoKeyTable.NO_KEY.A, 1);
        assertThat(noKey.getTable().getPrimaryKey()).isNull();

        assertThatIllegalArgumentException().isThrownBy(() -> session.saveAll(List.of(user(1, "valid"), noKey)))
                .withMessageContaining("records[1]").withMessageContaining("primary key");
        assertThatIllegalArgumentException().isThrownBy(() -> blocking.saveAll(List.of(user(1, "valid"), noKey)))
                .withMessageContaining("records[1]");
        assertThatIllegalArgumentException().isThrownBy(() -> session.save(noKey));
        assertThatIllegalArgumentException().isThrownBy(() -> blocking.save(noKey));

        assertThat(dsl.fetchCount(USERS)).isZero();
    }

    @Test
    void saveAll__rejects_the_same_primary_key_twice_naming_both_indexes(AsyncSession session, Session blocking,
            DSLContext dsl) {
        List<UsersRecord> users = List.of(user(1, "a"), user(2, "b"), user(1, "c"));
        List<PostTagsRecord> tags = List.of(tag(1, "x"), tag(1, "y"), tag(2, "x"), tag(1, "y"));

        assertThatIllegalArgumentException().isThrownBy(() -> session.saveAll(users))
                .withMessageContaining("records[0]").withMessageContaining("records[2]");
        assertThatIllegalArgumentException().isThrownBy(() -> blocking.saveAll(users))
                .withMessageContaining("records[0]").withMessageContaining("records[2]");
        assertThatIllegalArgumentException().isThrownBy(() -> session.saveAll(tags))
                .withMessageContaining("records[1]").withMessageContaining("records[3]");

        assertThat(dsl.fetchCount(USERS)).isZero();
        assertThat(users.get(0).touched()).isTrue();
    }

    @Test
    void saveAll__accepts_the_same_key_value_in_different_tables(AsyncSession session, DSLContext dsl) {
        await(session.saveAll(List.of(user(1, "a"), post(1, 1, "p"))));

        assertThat(dsl.fetchCount(USERS)).isEqualTo(1);
        assertThat(dsl.fetchCount(POSTS)).isEqualTo(1);
    }

    @Test
    void saveAll__rejects_the_same_instance_twice_naming_both_indexes(AsyncSession session, Session blocking,
            DSLContext dsl) {
        UsersRecord twice = newUser("twice");
        UsersRecord keyed = user(5, "keyed");
        List<UsersRecord> input = List.of(keyed, twice, user(6, "six"), twice);

        assertThatIllegalArgumentException().isThrownBy(() -> session.saveAll(input))
                .withMessageContaining("records[1]").withMessageContaining("records[3]");
        assertThatIllegalArgumentException().isThrownBy(() -> blocking.saveAll(input))
                .withMessageContaining("records[1]").withMessageContaining("records[3]");
        assertThatIllegalArgumentException().isThrownBy(() -> session.saveAll(List.of(keyed, keyed)))
                .withMessageContaining("records[0]").withMessageContaining("records[1]");

        assertThat(dsl.fetchCount(USERS)).isZero();
        assertThat(twice.getId()).isNull();
    }

    @Test
    void saveAll__completes_an_empty_collection_with_an_empty_list_without_sql(TestDatabase test) throws Exception {
        try (Database db = test.builder().poolSize(1).acquisitionTimeout(Duration.ofSeconds(1)).build()) {
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            CompletionStage<Integer> holder = db.session().transaction(tx -> {
                tx.execute("select 1");
                held.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return 1;
            });
            try {
                assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
                assertThat(db.activeConnections()).isEqualTo(1);

                CompletionStage<List<UsersRecord>> stage = db.session().saveAll(List.of());

                // the only connection is held elsewhere: a call that needed it could not have completed yet
                assertThat(stage.toCompletableFuture()).isCompletedWithValue(List.of());
                // the blocking session would fail after acquisitionTimeout (08001) if it asked for a connection
                assertThat(db.blockingSession().saveAll(new ArrayList<UsersRecord>())).isEmpty();
                assertThat(db.session().saveAll(Set.<PostsRecord>of()).toCompletableFuture()).isCompletedWithValue(List.of());
                assertThat(db.activeConnections()).isEqualTo(1);
            } finally {
                release.countDown();
            }
            assertThat(holder).succeedsWithin(TIMEOUT).isEqualTo(1);
        }
    }

    // =========================================================================================================
    // 12. Key-only records and fetched records
    // =========================================================================================================

    @Test
    void saveAll__inserts_a_key_only_record_when_the_row_is_missing(AsyncSession session, DSLContext dsl) {
        insertUser(dsl, 1, "Ann", null);
        insertPost(dsl, 1, 1, "T", null, null, PostStatus.draft);
        PostTagsRecord keyOnly = tag(1, "new");

        await(session.save(keyOnly));

        assertThat(dsl.fetchCount(POST_TAGS, POST_TAGS.POST_ID.eq(1L).and(POST_TAGS.TAG.eq("new")))).isEqualTo(1);
        assertThat(keyOnly.touched()).isFalse();
    }

    @Test
    void saveAll__fails_with_23502_for_a_key_only_record_of_a_missing_row_whose_table_requires_more_columns(
            AsyncSession session, DSLContext dsl) {
        UsersRecord keyOnly = new UsersRecord();
        keyOnly.setId(9L);

        awaitFailure(session.save(keyOnly), integrity("23502"));

        assertThat(dsl.fetchCount(USERS)).isZero();
        assertThat(keyOnly.touched(USERS.ID)).isTrue();
        assertThat(keyOnly.getName()).isNull();
    }

    @Test
    void saveAll__changes_nothing_for_a_key_only_record_of_an_existing_row(AsyncSession session, DSLContext dsl) {
        insertUser(dsl, 1, "Ann", "ann@x");
        insertPost(dsl, 1, 1, "T", "B", "{\"k\": 1}", PostStatus.published);
        dsl.insertInto(POST_TAGS).set(POST_TAGS.POST_ID, 1L).set(POST_TAGS.TAG, "t").execute();
        List<Object> userRow = normalized(dsl.fetchSingle(USERS, USERS.ID.eq(1L)));
        List<Object> postRow = normalized(dsl.fetchSingle(POSTS, POSTS.ID.eq(1L)));
        UsersRecord userKey = new UsersRecord();
        userKey.setId(1L);
        PostsRecord postKey = new PostsRecord();
        postKey.setId(1L);
        PostTagsRecord tagKey = tag(1, "t");

        await(session.saveAll(List.of(postKey, userKey, tagKey)));

        assertThat(normalized(dsl.fetchSingle(USERS, USERS.ID.eq(1L)))).isEqualTo(userRow);
        assertThat(normalized(dsl.fetchSingle(POSTS, POSTS.ID.eq(1L)))).isEqualTo(postRow);
        assertThat(dsl.fetchValue(POSTS.UPDATED_AT, POSTS.ID.eq(1L)).toInstant()).isEqualTo(OLD.toInstant());
        assertThat(dsl.fetchCount(POST_TAGS)).isEqualTo(1);
        // the records now hold the stored rows
        assertThat(normalized(userKey)).isEqualTo(userRow);
        assertThat(normalized(postKey)).isEqualTo(postRow);
        assertThat(userKey.touched()).isFalse();
        assertThat(postKey.touched()).isFalse();
    }

    @Test
    void saveAll__updates_only_the_changed_field_of_a_fetched_record_keeping_later_changes_by_others(
            AsyncSession session, DSLContext dsl) {
        insertUser(dsl, 1, "Ann", "ann@x");
        UsersRecord fetched = await(session.one(selectFrom(USERS).where(USERS.ID.eq(1L))));
        OffsetDateTime later = OffsetDateTime.of(2010, 5, 6, 7, 8, 9, 0, ZoneOffset.UTC);
        dsl.update(USERS).set(USERS.EMAIL, "changed-by-someone@x").set(USERS.CREATED_AT, later)
                .where(USERS.ID.eq(1L)).execute();
        fetched.setName("Annie");

        await(session.save(fetched));

        UsersRecord stored = dsl.fetchSingle(USERS, USERS.ID.eq(1L));
        assertThat(stored.getName()).isEqualTo("Annie");
        assertThat(stored.getEmail()).isEqualTo("changed-by-someone@x");
        assertThat(stored.getCreatedAt().toInstant()).isEqualTo(later.toInstant());
        assertThat(normalized(fetched)).isEqualTo(normalized(stored));
        assertThat(fetched.touched()).isFalse();
    }

    @Test
    void saveAll__updates_a_fetched_post_and_fires_its_trigger(AsyncSession session, DSLContext dsl) {
        insertUser(dsl, 1, "Ann", null);
        insertPost(dsl, 1, 1, "T", "B", null, PostStatus.draft);
        PostsRecord fetched = await(session.one(selectFrom(POSTS).where(POSTS.ID.eq(1L))));
        fetched.setStatus(PostStatus.published);

        await(session.saveAll(List.of(fetched)));

        PostsRecord stored = dsl.fetchSingle(POSTS, POSTS.ID.eq(1L));
        assertThat(stored.getStatus()).isEqualTo(PostStatus.published);
        assertThat(stored.getTitle()).isEqualTo("T");
        assertThat(stored.getUpdatedAt().toInstant()).isNotEqualTo(OLD.toInstant());
        assertThat(normalized(fetched)).isEqualTo(normalized(stored));
    }

    // =========================================================================================================
    // Blocking Session and transactions
    // =========================================================================================================

    @Test
    void save__on_the_blocking_session_upserts_and_returns_the_record(Session session, DSLContext dsl) {
        insertUser(dsl, 100, "Ann", "ann@x");
        UsersRecord update = user(100, "Annie");
        UsersRecord insert = newUser("Bob");

        assertThat(session.save(update)).isSameAs(update);
        assertThat(session.save(insert)).isSameAs(insert);
        update.setEmail("annie@x");
        List<UsersRecord> both = session.saveAll(List.of(user(200, "Carl"), update));

        assertThat(both.get(1)).isSameAs(update);
        Map<Long, UsersRecord> rows = dsl.selectFrom(USERS).fetchMap(USERS.ID);
        assertThat(rows).hasSize(3);
        assertThat(rows.get(100L).getName()).isEqualTo("Annie");
        assertThat(rows.get(100L).getEmail()).isEqualTo("annie@x");
        assertThat(rows.get(100L).getCreatedAt().toInstant()).isEqualTo(OLD.toInstant());
        assertThat(update.getCreatedAt().toInstant()).isEqualTo(OLD.toInstant());
        // PostgreSQL's identity ignores explicitly inserted ids; MariaDB's AUTO_INCREMENT continues after id 100
        if (postgres) {
            assertThat(insert.getId()).isEqualTo(1L);
        } else {
            assertThat(insert.getId()).isGreaterThan(100L);
        }
        assertThat(rows.get(insert.getId()).getName()).isEqualTo("Bob");
        assertThat(normalized(insert)).isEqualTo(normalized(rows.get(insert.getId())));
        assertThat(rows.get(200L).getName()).isEqualTo("Carl");
    }

    @Test
    void saveAll_in_a_transaction__is_rolled_back_by_a_later_exception_in_the_work(Session session,
            AsyncSession async, DSLContext dsl) {
        insertUser(dsl, 1, "Ann", null);
        IllegalStateException boom = new IllegalStateException("boom");

        Throwable thrown = catchThrowable(() -> session.transaction(tx -> {
            tx.saveAll(List.of(user(1, "renamed"), user(2, "Bob"), post(1, 2, "p")));
            tx.save(tag(1, "t"));
            assertThat(tx.dsl().fetchCount(USERS)).isEqualTo(2);
            throw boom;
        }));

        assertThat(thrown).isSameAs(boom);
        assertThat(dsl.fetchCount(USERS)).isEqualTo(1);
        assertThat(dsl.fetchValue(USERS.NAME, USERS.ID.eq(1L))).isEqualTo("Ann");
        assertThat(dsl.fetchCount(POSTS)).isZero();
        assertThat(dsl.fetchCount(POST_TAGS)).isZero();

        CompletionStage<Object> stage = async.transaction(tx -> {
            tx.saveAll(List.of(user(3, "Cid")));
            throw boom;
        });
        assertThat(stage).failsWithin(TIMEOUT).withThrowableOfType(ExecutionException.class).withCause(boom);
        assertThat(dsl.fetchCount(USERS)).isEqualTo(1);
    }

    // =========================================================================================================
    // Helpers
    // =========================================================================================================

    private static UsersRecord user(long id, String name) {
        UsersRecord u = new UsersRecord();
        u.setId(id);
        u.setName(name);
        return u;
    }

    private static UsersRecord newUser(String name) {
        UsersRecord u = new UsersRecord();
        u.setName(name);
        return u;
    }

    private static PostsRecord post(long id, long userId, String title) {
        PostsRecord p = new PostsRecord();
        p.setId(id);
        p.setUserId(userId);
        p.setTitle(title);
        return p;
    }

    private static PostTagsRecord tag(long postId, String tag) {
        PostTagsRecord t = new PostTagsRecord();
        t.setPostId(postId);
        t.setTag(tag);
        return t;
    }

    private static void insertUser(DSLContext dsl, long id, String name, String email) {
        dsl.insertInto(USERS).set(USERS.ID, id).set(USERS.NAME, name).set(USERS.EMAIL, email)
                .set(USERS.CREATED_AT, OLD).execute();
    }

    /** Inserted with updated_at = {@link #OLD}: the trigger fires on update only. */
    private static void insertPost(DSLContext dsl, long id, long userId, String title, String body, String metadata,
            PostStatus status) {
        dsl.insertInto(POSTS).set(POSTS.ID, id).set(POSTS.USER_ID, userId).set(POSTS.TITLE, title)
                .set(POSTS.BODY, body).set(POSTS.METADATA, metadata == null ? null : JSONB.valueOf(metadata))
                .set(POSTS.STATUS, status).set(POSTS.UPDATED_AT, OLD).execute();
    }

    /** Every value, original value and changed flag of a record. */
    private static List<Object> stateOf(Record r) {
        List<Object> state = new ArrayList<>();
        for (int i = 0; i < r.size(); i++) {
            state.add(Arrays.asList(r.field(i).getName(), r.get(i), r.original(i), r.touched(i)));
        }
        state.add(r.touched());
        return state;
    }

    /** A row's values, timestamps as instants and JSON as normalised text, to compare records with rows. */
    private static List<Object> normalized(Record r) {
        List<Object> values = new ArrayList<>();
        for (int i = 0; i < r.size(); i++) {
            Object v = r.get(i);
            if (v instanceof OffsetDateTime t) {
                v = t.toInstant();
            } else if (v instanceof JSONB j) {
                v = "jsonb:" + j.data().replaceAll("\\s", "");
            }
            values.add(v);
        }
        return values;
    }

    private static void assertRestored(List<? extends Record> records, List<List<Object>> before) {
        List<String> mismatches = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            List<Object> now = stateOf(records.get(i));
            if (!now.equals(before.get(i)) && mismatches.size() < 5) {
                mismatches.add("records[" + i + "]: before " + before.get(i) + ", after " + now);
            }
        }
        long count = 0;
        for (int i = 0; i < records.size(); i++) {
            count += stateOf(records.get(i)).equals(before.get(i)) ? 0 : 1;
        }
        assertThat(mismatches).as("%d of %d records not restored", count, records.size()).isEmpty();
    }

    private static <T> T await(CompletionStage<T> stage) {
        assertThat(stage).succeedsWithin(TIMEOUT);
        return stage.toCompletableFuture().join();
    }

    private static <T> T awaitLong(CompletionStage<T> stage) {
        assertThat(stage).succeedsWithin(LONG_TIMEOUT);
        return stage.toCompletableFuture().join();
    }

    private static DataAccessException awaitFailure(CompletionStage<?> stage, String sqlState) {
        return awaitFailure(stage, sqlState, TIMEOUT);
    }

    private static DataAccessException awaitFailure(CompletionStage<?> stage, String sqlState, Duration timeout) {
        assertThat(stage).failsWithin(timeout).withThrowableOfType(ExecutionException.class)
                .withCauseInstanceOf(DataAccessException.class);
        Throwable thrown = catchThrowable(() -> stage.toCompletableFuture().get());
        DataAccessException cause = (DataAccessException) thrown.getCause();
        assertThat(cause.sqlState()).as("SQLState of %s", cause.getMessage()).isEqualTo(sqlState);
        assertThat(cause.sqlStateClass()).as("SQLState class of %s", cause.getMessage())
                .isEqualTo(SQLStateClass.C23_INTEGRITY_CONSTRAINT_VIOLATION);
        return cause;
    }

    /** A bind value typed as users.created_at, for plain SQL on either backend (no timestamptz literal on MariaDB). */
    private static org.jooq.Param<OffsetDateTime> timestamp(OffsetDateTime value) {
        return DSL.val(value, USERS.CREATED_AT);
    }

    /** A one-value query's result as a boolean: PostgreSQL returns a boolean, MariaDB 1 or 0. */
    private static boolean isTrue(DSLContext dsl, String sql, Object... bindings) {
        Boolean value = dsl.resultQuery(sql, bindings).fetchSingle().get(0, Boolean.class);
        assertThat(value).as("value of %s", sql).isNotNull();
        return value;
    }

    // A table without a primary key, which the example schema does not have.

    static final class NoKeyTable extends TableImpl<NoKeyRecord> {
        static final NoKeyTable NO_KEY = new NoKeyTable();

        final TableField<NoKeyRecord, Integer> A = createField(DSL.name("a"), SQLDataType.INTEGER, this, "");

        private NoKeyTable() {
            super(DSL.name("saveall_no_key"));
        }

        @Override
        public Class<NoKeyRecord> getRecordType() {
            return NoKeyRecord.class;
        }
    }

    public static final class NoKeyRecord extends UpdatableRecordImpl<NoKeyRecord> {
        public NoKeyRecord() {
            super(NoKeyTable.NO_KEY);
        }
    }
}
