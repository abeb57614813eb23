package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.enums.PostStatus;
import dev.sqlservice.example.schema.tables.records.PostsRecord;
import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.sql.SQLTimeoutException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.Record2;
import org.jooq.Result;
import org.jooq.ResultQuery;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.jooq.exception.NoDataFoundException;
import org.jooq.exception.TooManyRowsException;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Prepared queries (issue 17): rendered once, run with new values through both sessions' verbs, on every backend. */
@ExampleDatabase
class PreparedQueryTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 1, 12, 30, 15, 123_456_000, ZoneOffset.UTC);

    private final Param<Long> id = param("id", Long.class);
    private boolean postgres;

    @BeforeEach
    void threeUsersAndPosts(Database db, TestDatabase test) {
        postgres = test.dialect().family() == SQLDialect.POSTGRES;
        UsersAndPosts.users(db, T0);
        UsersAndPosts.posts(db, 3);
    }

    private static <T> T join(CompletionStage<T> stage) {
        return Stages.join(stage);
    }

    @Test
    void typed_query__runs_with_each_bound_value_through_every_verb_of_both_sessions(Database db) {
        PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
        AsyncSession async = db.session();
        Session blocking = db.blockingSession();

        for (long key = 1; key <= 3; key++) {
            UsersRecord expected = db.dsl().selectFrom(USERS).where(USERS.ID.eq(key)).fetchSingle();
            PreparedQuery<UsersRecord> bound = byId.bind(id, key);
            assertThat(join(async.first(bound))).contains(expected);
            assertThat(join(async.one(bound))).isEqualTo(expected);
            assertThat(join(async.oneOrNone(bound))).contains(expected);
            assertThat(join(async.all(bound))).containsExactly(expected);
            assertThat(blocking.first(bound)).contains(expected);
            assertThat(blocking.one(bound)).isEqualTo(expected);
            assertThat(blocking.oneOrNone(bound)).contains(expected);
            assertThat(blocking.all(bound)).containsExactly(expected);
        }
        PreparedQuery<UsersRecord> none = byId.bind(id, 99L);
        assertThat(blocking.first(none)).isEmpty();
        assertThat(join(async.oneOrNone(none))).isEmpty();
        assertThat(blocking.all(none)).isEmpty();
        assertThatThrownBy(() -> blocking.one(none)).isInstanceOf(NoDataFoundException.class);
        assertThat(Stages.failure(async.one(none))).isInstanceOf(NoDataFoundException.class);
    }

    @Test
    void typed_query__returns_the_same_rows_and_record_types_as_the_query_run_unprepared(Database db) {
        ResultQuery<Record2<String, String>> joined = select(USERS.NAME, POSTS.TITLE).from(POSTS).join(USERS)
                .on(USERS.ID.eq(POSTS.USER_ID)).where(POSTS.USER_ID.eq(id)).orderBy(POSTS.ID);
        PreparedQuery<Record2<String, String>> prepared = db.prepare(joined);

        Result<Record2<String, String>> rows = db.blockingSession().all(prepared.bind(id, 1L));

        assertThat(rows).hasSize(2);
        assertThat(rows.get(0)).isInstanceOf(Record2.class);
        assertThat(rows.get(0).value1()).isEqualTo("Ann");
        assertThat(rows.get(1).value2()).isEqualTo("two");
        joined.bind("id", 1L);
        assertThat(rows).isEqualTo(db.blockingSession().all(joined));
    }

    @Test
    void typed_query__binds_nulls_and_values_of_every_type_converters_included(Database db) {
        Param<OffsetDateTime> since = param("since", USERS.CREATED_AT);
        Param<String> email = param("email", USERS.EMAIL);
        Param<PostStatus> status = param("status", POSTS.STATUS);
        PreparedQuery<UsersRecord> users = db.prepare(selectFrom(USERS)
                .where(USERS.CREATED_AT.ge(since)).and(USERS.EMAIL.isNotDistinctFrom(email)).orderBy(USERS.ID));
        PreparedQuery<PostsRecord> posts = db.prepare(selectFrom(POSTS).where(POSTS.STATUS.eq(status)).orderBy(POSTS.ID));

        assertThat(db.blockingSession().all(users.bind(since, T0).bind(email, null)))
                .extracting(UsersRecord::getName).containsExactly("Bob");
        assertThat(db.blockingSession().all(users.bind(since, T0.plusMinutes(1)).bind(email, "cid@example.com")))
                .extracting(UsersRecord::getName).containsExactly("Cid");
        UsersRecord ann = db.blockingSession().one(users.bind(Map.of("since", T0, "email", "ann@example.com")));
        assertThat(ann.getCreatedAt().toInstant()).isEqualTo(T0.toInstant());
        assertThat(db.blockingSession().all(posts.bind(status, PostStatus.published)))
                .extracting(PostsRecord::getId).containsExactly(1L, 3L);
        assertThat(db.blockingSession().all(posts.bind(status, PostStatus.draft)).getFirst().getBody()).isNull();
    }

    @Test
    void typed_query__records_are_attached_so_they_store_and_refresh(Database db) {
        PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));

        UsersRecord bob = db.blockingSession().one(byId.bind(id, 2L));
        assertThat(bob.touched()).isFalse();
        bob.setName("Robert");
        bob.store();
        assertThat(db.dsl().fetchValue(USERS.NAME, USERS.ID.eq(2L))).isEqualTo("Robert");
        db.dsl().update(USERS).set(USERS.NAME, "Bobby").where(USERS.ID.eq(2L)).execute();
        bob.refresh();
        assertThat(bob.getName()).isEqualTo("Bobby");
        assertThat(db.activeConnections()).isZero();
    }

    @Test
    void first_one_and_oneOrNone__keep_their_row_limits(Database db) {
        Param<Long> user = param("user", Long.class);
        PreparedQuery<PostsRecord> ofUser = db.prepare(selectFrom(POSTS).where(POSTS.USER_ID.eq(user)).orderBy(POSTS.ID));
        PreparedQuery<PostsRecord> ann = ofUser.bind(user, 1L);

        assertThat(db.blockingSession().first(ann)).map(PostsRecord::getId).contains(1L);
        assertThat(join(db.session().first(ann))).map(PostsRecord::getId).contains(1L);
        assertThatThrownBy(() -> db.blockingSession().one(ann)).isInstanceOf(TooManyRowsException.class);
        assertThatThrownBy(() -> db.blockingSession().oneOrNone(ann)).isInstanceOf(TooManyRowsException.class);
        assertThat(Stages.failure(db.session().one(ann))).isInstanceOf(TooManyRowsException.class);
        // The limits belong to the call: all() on the same prepared query reads every row afterwards.
        assertThat(db.blockingSession().all(ann)).hasSize(2);
    }

    @Test
    void constants_of_the_query_are_bound_as_they_were_at_prepare(Database db) {
        ResultQuery<UsersRecord> query = selectFrom(USERS).where(USERS.NAME.ne("Ann")).and(USERS.ID.le(id)).orderBy(USERS.ID);
        PreparedQuery<UsersRecord> prepared = db.prepare(query);
        query.bind(1, "Bob"); // changing the original later changes nothing in the prepared query

        assertThat(db.blockingSession().all(prepared.bind(id, 3L))).extracting(UsersRecord::getName)
                .containsExactly("Bob", "Cid");
        assertThat(prepared.parameterNames()).containsExactly("id");
        assertThat(prepared.sql()).contains("?").doesNotContain("Ann").doesNotContain(":id");
    }

    @Test
    void a_parameter_used_twice_takes_one_value(Database db) {
        PreparedQuery<UsersRecord> prepared = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)).or(USERS.ID.eq(id.add(1L))));

        assertThat(db.blockingSession().all(prepared.bind(id, 1L))).extracting(UsersRecord::getId).containsExactlyInAnyOrder(1L, 2L);
    }

    @Test
    void named_sql__parsed_once_runs_with_new_values_through_every_verb(Database db) {
        PreparedQuery<Record> names = db.prepare("select name from users where id in (:ids) and name <> :not order by id");

        PreparedQuery<Record> bound = names.bind("ids", List.of(1L, 2L, 3L)).bind("not", "Bob");
        assertThat(db.blockingSession().all(bound)).extracting(r -> r.get("name", String.class)).containsExactly("Ann", "Cid");
        assertThat(join(db.session().first(bound))).map(r -> r.get("name", String.class)).contains("Ann");
        assertThat(join(db.session().oneOrNone(names.bind("ids", List.of(3L)).bind("not", "x"))))
                .map(r -> r.get("name", String.class)).contains("Cid");
        assertThat(db.blockingSession().one(names.bind(Map.of("ids", List.of(2L), "not", "Ann"))).get("name", String.class))
                .isEqualTo("Bob");
        assertThat(names.parameterNames()).containsExactly("ids", "not");
        assertThatThrownBy(() -> names.bind("ids", List.of())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(":ids").hasMessageContaining("empty collection");
    }

    @Test
    void misuse__fails_at_once_naming_the_parameter(Database db, TestDatabase test) {
        PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)).and(USERS.NAME.ne(param("name", String.class))));

        assertThatThrownBy(() -> db.blockingSession().first(byId.bind(id, 1L)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no value for parameter :name");
        assertThatThrownBy(() -> db.session().first(byId))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(":id, :name");
        assertThatThrownBy(() -> byId.bind("nope", 1L)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("parameter :nope is not in the prepared query (its parameters are :id, :name)");
        assertThatThrownBy(() -> byId.bind(":id", 1L)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("without ':'");
        assertThatThrownBy(() -> byId.bind("id", "1")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("parameter :id takes java.lang.Long, got a java.lang.String");
        assertThatThrownBy(() -> byId.bind(DSL.val(1L), 1L)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("named parameter");
        assertThatThrownBy(() -> db.prepare((ResultQuery<Record>) null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> db.blockingSession().first((PreparedQuery<Record>) null)).isInstanceOf(NullPointerException.class);
        try (Database other = test.builder().build()) {
            assertThatThrownBy(() -> other.blockingSession().first(byId.bind(id, 1L).bind("name", "x")))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prepared by another Database");
        }
        try (Database inlining = test.builder()
                .settings(new org.jooq.conf.Settings().withStatementType(org.jooq.conf.StatementType.STATIC_STATEMENT)).build()) {
            assertThatThrownBy(() -> inlining.prepare(selectFrom(USERS).where(USERS.ID.eq(id))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("parameter :id is rendered inline");
        }
        assertThat(db.activeConnections()).isZero();
    }

    @Test
    void statement_timeout_applies_to_prepared_queries(Database db) {
        PreparedQuery<Record> slow = db.prepare(postgres ? "select pg_sleep(:s) as slow" : "select benchmark(:n, md5('slow')) as slow");
        PreparedQuery<Record> bound = postgres ? slow.bind("s", 10) : slow.bind("n", 30_000_000);
        long started = System.nanoTime();

        Throwable failure = Stages.failure(db.session().withStatementTimeout(Duration.ofMillis(200)).first(bound));

        assertThat(failure).isInstanceOf(DataAccessException.class).hasMessageContaining("timed out after 200 ms");
        assertThat(failure.getCause()).isInstanceOf(SQLTimeoutException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(8));
        assertThatThrownBy(() -> db.blockingSession().withStatementTimeout(Duration.ofMillis(200)).all(bound))
                .isInstanceOf(DataAccessException.class).hasMessageContaining("timed out after 200 ms");
    }

    @Test
    void inside_a_transaction__a_prepared_query_sees_its_uncommitted_rows(Database db) {
        PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));

        Optional<UsersRecord> seen = join(db.session().transaction(tx -> {
            tx.execute(DSL.insertInto(USERS, USERS.ID, USERS.NAME).values(7L, "Tx"));
            return tx.first(byId.bind(id, 7L));
        }));

        assertThat(seen).map(UsersRecord::getName).contains("Tx");
        assertThatThrownBy(() -> db.blockingSession().transaction(tx -> {
            tx.execute(DSL.insertInto(USERS, USERS.ID, USERS.NAME).values(8L, "Gone"));
            assertThat(db.blockingSession().first(byId.bind(id, 8L))).isPresent();
            throw new IllegalStateException("roll back");
        })).isInstanceOf(IllegalStateException.class);
        assertThat(db.blockingSession().first(byId.bind(id, 8L))).isEmpty();
    }

    @Test
    void one_prepared_query_shared_by_many_concurrent_calls(Database db) {
        PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
        List<CompletionStage<Optional<UsersRecord>>> calls = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            calls.add(db.session().first(byId.bind(id, (long) (i % 4))));
        }
        for (int i = 0; i < calls.size(); i++) {
            Optional<UsersRecord> row = join(calls.get(i));
            assertThat(row.map(UsersRecord::getId)).isEqualTo(i % 4 == 0 ? Optional.empty() : Optional.of((long) (i % 4)));
        }
    }

    @Test
    void each_run_sends_the_sql_rendered_at_prepare(Database db) {
        Param<OffsetDateTime> since = param("since", USERS.CREATED_AT);
        Param<PostStatus> status = param("status", POSTS.STATUS);
        List<ResultQuery<? extends Record>> queries = List.of(
                selectFrom(USERS).where(USERS.ID.eq(id)),
                selectFrom(USERS).where(USERS.CREATED_AT.ge(since)).and(USERS.NAME.ne("x")).orderBy(USERS.ID).limit(5),
                selectFrom(POSTS).where(POSTS.STATUS.eq(status)).and(POSTS.USER_ID.in(id, DSL.val(9L))),
                select(USERS.NAME, POSTS.TITLE).from(POSTS).join(USERS).on(USERS.ID.eq(POSTS.USER_ID)).where(POSTS.USER_ID.eq(id)));
        for (ResultQuery<? extends Record> query : queries) {
            PreparedQuery<? extends Record> prepared = db.prepare(query);
            PreparedQuery<? extends Record> bound = prepared.bind(Map.of()); // values don't change the SQL
            for (String name : prepared.parameterNames()) {
                bound = bound.bind(name, switch (name) {
                    case "id" -> 1L;
                    case "since" -> T0;
                    default -> PostStatus.draft;
                });
            }
            String sent = db.dsl().render(bound.run(db).query());
            assertThat(sent).isEqualTo(prepared.sql()).isEqualTo(db.dsl().render(query));
        }
    }

    @Test
    void values_are_bound_never_spliced(Database db) {
        PreparedQuery<UsersRecord> byName = db.prepare(selectFrom(USERS).where(USERS.NAME.eq(param("name", String.class))));
        String hostile = "x' or '1'='1";

        assertThat(db.blockingSession().all(byName.bind("name", hostile))).isEmpty();
        assertThat(db.blockingSession().first(byName.bind("name", "Ann"))).isPresent();
    }
}
