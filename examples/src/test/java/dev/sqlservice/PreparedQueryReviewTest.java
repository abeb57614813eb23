package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.BLOBS;
import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.enums.PostStatus;
import dev.sqlservice.example.schema.tables.records.BlobsRecord;
import dev.sqlservice.example.schema.tables.records.PostsRecord;
import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import javax.sql.DataSource;
import org.jooq.JSONB;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.Record1;
import org.jooq.Result;
import org.jooq.ResultQuery;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Independent review of PreparedQuery (issue 17 item 1): each test states what a prepared query must do, compared
 * with the same query run unprepared through the same session.
 */
@ExampleDatabase
class PreparedQueryReviewTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 1, 12, 30, 15, 123_456_000, ZoneOffset.UTC);

    private final Param<Long> id = param("id", Long.class);
    private boolean postgres;

    @BeforeEach
    void rows(Database db, TestDatabase test) {
        postgres = test.dialect().family() == SQLDialect.POSTGRES;
        UsersAndPosts.users(db, T0);
        UsersAndPosts.posts(db, 3);
    }

    private static <T> T join(CompletionStage<T> stage) {
        return Stages.join(stage);
    }

    // ---- silent wrong data ------------------------------------------------------------------------------------

    /**
     * PreparedQuery's Javadoc: unnamed values are "constants, bound as they were at prepare". A byte[] constant is
     * kept by reference, so the caller changing its array afterwards changes what every later run sends.
     */
    @Test
    void a_byte_array_constant_is_bound_as_it_was_at_prepare(Database db) {
        byte[] digest = {1, 2, 3};
        byte[] other = {9, 9, 9};
        db.dsl().insertInto(BLOBS, BLOBS.DIGEST, BLOBS.NAME).values(digest.clone(), "a").values(other.clone(), "b").execute();
        PreparedQuery<BlobsRecord> byDigest = db.prepare(selectFrom(BLOBS).where(BLOBS.DIGEST.eq(digest))
                .and(BLOBS.NAME.ne(param("not", String.class))));

        System.arraycopy(other, 0, digest, 0, 3); // the caller reuses its buffer after prepare

        assertThat(db.blockingSession().all(byDigest.bind("not", "x"))).extracting(BlobsRecord::getName)
                .as("the constant as it was at prepare ({1,2,3}), not the caller's buffer now")
                .containsExactly("a");
    }

    /**
     * A query whose fields jOOQ only knows after running it (plain SQL: {@code DSL.resultQuery}) has
     * {@code fields()} empty at prepare; its rows must still have their columns.
     */
    @Test
    void a_plain_sql_result_query_keeps_its_columns(Database db) {
        ResultQuery<Record> query = DSL.resultQuery("select name, id from users where id = {0}", id);
        PreparedQuery<Record> prepared = db.prepare(query);

        Record row = db.blockingSession().one(prepared.bind(id, 2L));

        assertThat(row.size()).as("columns of the prepared run's record").isEqualTo(2);
        assertThat(row.get("name", String.class)).isEqualTo("Bob");
    }

    /** {@code select *}: the rows must have the table's columns, as the unprepared query's rows do. */
    @Test
    void select_asterisk_rows_have_every_column(Database db) {
        ResultQuery<Record> query = select(DSL.asterisk()).from(USERS).where(USERS.ID.eq(id));
        PreparedQuery<Record> prepared = db.prepare(query);

        Record row = db.blockingSession().one(prepared.bind(id, 1L));
        Record expected = db.blockingSession().one(select(DSL.asterisk()).from(USERS).where(USERS.ID.eq(1L)));

        assertThat(row.size()).isEqualTo(expected.size());
        assertThat(row.intoMap()).isEqualTo(expected.intoMap());
    }

    /** A named parameter in the select list: its value comes back, per run. */
    @Test
    void a_parameter_in_the_select_list(Database db) {
        Param<Integer> x = param("x", Integer.class);
        PreparedQuery<Record1<Integer>> prepared = db.prepare(select(x.as("v")).from(USERS).where(USERS.ID.eq(1L)));

        assertThat(db.blockingSession().one(prepared.bind(x, 5)).value1()).isEqualTo(5);
        assertThat(db.blockingSession().one(prepared.bind(x, 7)).value1()).isEqualTo(7);
        assertThat(db.blockingSession().one(prepared.bind(x, null)).value1()).isNull();
    }

    /** LIMIT / OFFSET parameters, with a constant and a parameter in the WHERE before them. */
    @Test
    void limit_and_offset_parameters_take_their_own_slots(Database db) {
        Param<Integer> n = param("n", Integer.class);
        Param<Integer> skip = param("skip", Integer.class);
        PreparedQuery<UsersRecord> page = db.prepare(selectFrom(USERS).where(USERS.ID.ge(id)).and(USERS.NAME.ne("zz"))
                .orderBy(USERS.ID).limit(n).offset(skip));

        assertThat(db.blockingSession().all(page.bind(id, 1L).bind(n, 2).bind(skip, 1))).extracting(UsersRecord::getId)
                .containsExactly(2L, 3L);
        assertThat(db.blockingSession().all(page.bind(id, 2L).bind(n, 1).bind(skip, 0))).extracting(UsersRecord::getId)
                .containsExactly(2L);
    }

    /** Parameters in a CTE, a subquery, an IN list and a union: each slot gets its own value. */
    @Test
    void parameters_in_ctes_subqueries_in_lists_and_unions(Database db) {
        Param<String> title = param("title", String.class);
        Param<Long> a = param("a", Long.class);
        Param<Long> b = param("b", Long.class);
        var cte = DSL.name("t").fields("uid").as(select(POSTS.USER_ID).from(POSTS).where(POSTS.TITLE.ne(title)));
        ResultQuery<Record1<String>> query = DSL.with(cte)
                .select(USERS.NAME).from(USERS)
                .where(USERS.ID.in(select(cte.field("uid", Long.class)).from(cte)))
                .and(USERS.ID.in(a, DSL.val(3L), b))
                .union(select(USERS.NAME).from(USERS).where(USERS.ID.eq(b)))
                .orderBy(DSL.field(DSL.name("name")));
        PreparedQuery<Record1<String>> prepared = db.prepare(query);

        Result<Record1<String>> rows = db.blockingSession().all(prepared.bind(title, "one").bind(a, 1L).bind(b, 2L));

        assertThat(rows).extracting(Record1::value1).containsExactly("Ann", "Bob");
        Result<Record1<String>> rows2 = db.blockingSession().all(prepared.bind(title, "two").bind(a, 5L).bind(b, 3L));
        assertThat(rows2).extracting(Record1::value1).containsExactly("Cid");
    }

    /** A parameter inside a plain-SQL template, next to a {@code ?} in a string literal. */
    @Test
    void a_parameter_in_a_plain_sql_template_next_to_a_question_mark_literal(Database db) {
        Param<String> suffix = param("suffix", String.class);
        PreparedQuery<Record1<String>> prepared = db.prepare(select(DSL.field("concat({0}, '?', {1})", String.class, USERS.NAME, suffix))
                .from(USERS).where(USERS.ID.eq(id)));

        assertThat(db.blockingSession().one(prepared.bind(id, 1L).bind(suffix, "x")).value1()).isEqualTo("Ann?x");
    }

    /** JSONB (a jOOQ binding with a cast) and an enum with a PostgreSQL type, bound per run. */
    @Test
    void jsonb_and_enum_parameters(Database db) {
        db.dsl().update(POSTS).set(POSTS.METADATA, JSONB.valueOf("{\"a\": 1}")).where(POSTS.ID.eq(1L)).execute();
        db.dsl().update(POSTS).set(POSTS.METADATA, JSONB.valueOf("{\"a\": 2}")).where(POSTS.ID.eq(3L)).execute();
        Param<JSONB> meta = param("meta", POSTS.METADATA);
        Param<PostStatus> status = param("status", POSTS.STATUS);
        PreparedQuery<PostsRecord> prepared = db.prepare(selectFrom(POSTS).where(POSTS.METADATA.eq(meta)).and(POSTS.STATUS.eq(status)));

        assertThat(db.blockingSession().all(prepared.bind(meta, JSONB.valueOf("{\"a\": 2}")).bind(status, PostStatus.published)))
                .extracting(PostsRecord::getId).containsExactly(3L);
        assertThat(db.blockingSession().all(prepared.bind(meta, JSONB.valueOf("{\"a\": 1}")).bind(status, PostStatus.draft)))
                .isEmpty();
    }

    /** An array parameter ({@code = any(?)}), PostgreSQL only. */
    @Test
    void an_array_parameter(Database db) {
        if (!postgres) {
            return;
        }
        Param<Long[]> ids = param("ids", SQLDataType.BIGINT.array());
        PreparedQuery<UsersRecord> prepared = db.prepare(selectFrom(USERS).where(USERS.ID.eq(DSL.any(ids))).orderBy(USERS.ID));

        assertThat(db.blockingSession().all(prepared.bind(ids, new Long[] {3L, 1L}))).extracting(UsersRecord::getId)
                .containsExactly(1L, 3L);
    }

    /** Named SQL: a collection of N binds, then a later parameter, and {@code :name} in a literal and comment. */
    @Test
    void named_sql__a_collection_then_a_later_slot_and_names_in_literals_and_comments(Database db) {
        PreparedQuery<Record> prepared = db.prepare("select name, ':x' as lit /* :y */ from users where id in (:ids)"
                + " and name <> :not -- :z\n order by id");

        Result<Record> rows = db.blockingSession().all(prepared.bind("ids", List.of(1L, 2L, 3L)).bind("not", "Bob"));

        assertThat(prepared.parameterNames()).containsExactly("ids", "not");
        assertThat(rows).extracting(r -> r.get("name", String.class)).containsExactly("Ann", "Cid");
        assertThat(rows.getFirst().get("lit", String.class)).isEqualTo(":x");
    }

    /** A named parameter whose name is a number, next to unnamed constants (jOOQ keys those by index). */
    @Test
    void a_parameter_named_like_a_constant_index(Database db) {
        Param<Long> one = param("1", Long.class);
        PreparedQuery<UsersRecord> prepared = db.prepare(selectFrom(USERS).where(USERS.NAME.ne("Ann")).and(USERS.ID.le(one))
                .orderBy(USERS.ID));

        assertThat(prepared.parameterNames()).containsExactly("1");
        assertThat(db.blockingSession().all(prepared.bind(one, 3L))).extracting(UsersRecord::getId).containsExactly(2L, 3L);
    }

    /** Two Param objects with the same name and type: one value, both slots. */
    @Test
    void two_param_objects_of_one_name(Database db) {
        PreparedQuery<UsersRecord> prepared = db.prepare(selectFrom(USERS).where(USERS.ID.ge(param("k", Long.class)))
                .and(USERS.ID.le(param("k", Long.class))));

        assertThat(db.blockingSession().all(prepared.bind("k", 2L))).extracting(UsersRecord::getId).containsExactly(2L);
        assertThatThrownBy(() -> db.prepare(selectFrom(USERS).where(USERS.ID.ge(param("k", Long.class)))
                .and(USERS.NAME.ne(param("k", String.class))))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("two types");
    }

    /**
     * With {@code Settings.inListPadding}, jOOQ pads an IN list to a power of two by repeating its last element.
     * When that last element is a named parameter, the padded slot must take the parameter's value too: in a
     * NOT IN, a null there would make every row disappear.
     */
    @Test
    void in_list_padding_repeats_the_parameter_not_its_value_at_prepare(TestDatabase test) {
        try (Database padded = test.builder().settings(new org.jooq.conf.Settings().withInListPadding(true)).build()) {
            PreparedQuery<UsersRecord> prepared = padded.prepare(selectFrom(USERS)
                    .where(USERS.ID.notIn(DSL.val(1L), DSL.val(2L), id)).orderBy(USERS.ID));
            padded.dsl().insertInto(USERS, USERS.ID, USERS.NAME).values(4L, "Dan").execute();

            assertThat(padded.blockingSession().all(prepared.bind(id, 3L))).extracting(UsersRecord::getId)
                    .as("unprepared: %s", padded.blockingSession().all(selectFrom(USERS)
                            .where(USERS.ID.notIn(DSL.val(1L), DSL.val(2L), DSL.val(3L))).orderBy(USERS.ID))
                            .map(UsersRecord::getId))
                    .containsExactly(4L);
        }
    }

    /** {@code Settings.renderFormatted}: the cut SQL still runs with the values in their places. */
    @Test
    void render_formatted_settings(TestDatabase test) {
        try (Database formatted = test.builder().settings(new org.jooq.conf.Settings().withRenderFormatted(true)).build()) {
            Param<String> name = param("name", String.class);
            PreparedQuery<UsersRecord> prepared = formatted.prepare(selectFrom(USERS).where(USERS.ID.in(id, DSL.val(3L)))
                    .and(USERS.NAME.ne(name)).orderBy(USERS.ID));

            assertThat(formatted.blockingSession().all(prepared.bind(id, 1L).bind(name, "Cid"))).extracting(UsersRecord::getId)
                    .containsExactly(1L);
        }
    }

    /**
     * jOOQ runs MySQL/MariaDB {@code group_concat} with {@code group_concat_max_len} raised for the statement (SQL
     * it adds at execution, not in {@code render}); a prepared run must not truncate the value at 1024 bytes.
     */
    @Test
    void group_concat_is_not_truncated(Database db) {
        var concat = DSL.groupConcat(DSL.repeat(USERS.NAME, 400)).orderBy(USERS.ID);
        ResultQuery<Record1<String>> unprepared = select(postgres ? DSL.listAgg(DSL.repeat(USERS.NAME, 400), "").withinGroupOrderBy(USERS.ID) : concat)
                .from(USERS).where(USERS.ID.le(3L));
        PreparedQuery<Record1<String>> prepared = db.prepare(
                select(postgres ? DSL.listAgg(DSL.repeat(USERS.NAME, 400), "").withinGroupOrderBy(USERS.ID) : concat)
                        .from(USERS).where(USERS.ID.le(id)));

        int expected = 3 * 3 * 400 + (postgres ? 0 : 2);
        if (postgres) { // on MariaDB the unprepared query fails: jOOQ's multi-statement SQL (a finding apart)
            assertThat(db.blockingSession().one(unprepared).value1()).hasSize(expected);
        }
        assertThat(db.blockingSession().one(prepared.bind(id, 3L)).value1()).hasSize(expected);
    }

    /** UPDATE ... RETURNING is a ResultQuery, so prepare takes it: a run must apply it and return its rows. */
    @Test
    void update_returning(Database db, TestDatabase test) {
        Param<String> name = param("name", String.class);
        ResultQuery<UsersRecord> update = DSL.update(USERS).set(USERS.NAME, name).where(USERS.ID.eq(id)).returning();
        PreparedQuery<UsersRecord> prepared;
        try {
            prepared = db.prepare(update);
        } catch (IllegalArgumentException refused) {
            System.out.println("REVIEW update_returning refused: " + refused.getMessage());
            return; // refused at prepare, with a message: acceptable
        }
        Optional<UsersRecord> row;
        try {
            row = db.blockingSession().first(prepared.bind(id, 2L).bind(name, "Robert"));
        } catch (org.jooq.exception.DataAccessException failed) {
            System.out.println("REVIEW update_returning failed: " + failed.getMessage());
            assertThat(db.dsl().fetchValue(USERS.NAME, USERS.ID.eq(2L))).as("a failed run applied nothing").isEqualTo("Bob");
            return;
        }
        String stored = db.dsl().fetchValue(USERS.NAME, USERS.ID.eq(2L));
        System.out.println("REVIEW update_returning ran: " + prepared.sql() + " -> " + row);
        assertThat(row.map(UsersRecord::getName)).as("the row returned by the run (stored now: %s)", stored).contains("Robert");
        assertThat(stored).isEqualTo("Robert");
    }

    /** INSERT ... RETURNING through a prepared query: each run inserts and returns its row. */
    @Test
    void insert_returning(Database db) {
        Param<String> name = param("name", String.class);
        PreparedQuery<UsersRecord> prepared = db.prepare(DSL.insertInto(USERS, USERS.ID, USERS.NAME).values(id, name).returning());

        UsersRecord row = db.blockingSession().one(prepared.bind(id, 10L).bind(name, "Ten"));

        assertThat(row.getId()).isEqualTo(10L);
        assertThat(row.getName()).isEqualTo("Ten");
        assertThat(row.getCreatedAt()).isNotNull();
        assertThat(db.dsl().fetchValue(USERS.NAME, USERS.ID.eq(10L))).isEqualTo("Ten");
    }

    /** A coerced query: the prepared run maps its columns as the unprepared one does. */
    @Test
    void a_coerced_query_maps_columns_as_unprepared(Database db) {
        ResultQuery<UsersRecord> query = select(USERS.ID, USERS.EMAIL, USERS.NAME, USERS.CREATED_AT).from(USERS)
                .where(USERS.ID.eq(id)).coerce(USERS);

        UsersRecord prepared = db.blockingSession().one(db.prepare(query).bind(id, 1L));
        query.bind("id", 1L);
        UsersRecord unprepared = db.blockingSession().one(query);

        assertThat(prepared.intoMap()).isEqualTo(unprepared.intoMap());
    }

    /** "bind returns a copy holding the value": a list bound for IN, changed by the caller after bind. */
    @Test
    void a_collection_bound_then_changed_by_the_caller(Database db) {
        PreparedQuery<Record> names = db.prepare("select name from users where id in (:ids) order by id");
        List<Long> ids = new ArrayList<>(List.of(1L, 2L));
        PreparedQuery<Record> bound = names.bind("ids", ids);
        ids.clear();
        ids.add(3L);

        assertThat(db.blockingSession().all(bound)).extracting(r -> r.get("name", String.class))
                .as("the values held by the bound copy").containsExactly("Ann", "Bob");
    }

    /**
     * jOOQ does not always append to its render buffer: an implicit join path's JOIN is written into the FROM
     * clause after the binds of the WHERE were rendered. Each slot must still get its own value.
     */
    @Test
    void an_implicit_join_path_keeps_slots_in_place(Database db) {
        Param<String> not = param("not", String.class);
        sameAsUnprepared(db, select(POSTS.users().NAME).from(POSTS).where(POSTS.users().NAME.ne(not)).and(POSTS.ID.le(id))
                .orderBy(POSTS.ID));
    }

    /** A WITH nested in a subquery, between two parameters. */
    @Test
    void a_nested_with_keeps_slots_in_place(Database db) {
        Param<String> not = param("not", String.class);
        Param<String> title = param("title", String.class);
        var cte = DSL.name("c").fields("uid").as(select(POSTS.USER_ID).from(POSTS).where(POSTS.TITLE.ne(title)));
        sameAsUnprepared(db, select(USERS.NAME).from(USERS).where(USERS.NAME.ne(not))
                .and(USERS.ID.in(DSL.with(cte).select(cte.field("uid", Long.class)).from(cte)))
                .and(USERS.ID.le(id)).orderBy(USERS.ID));
    }

    private static void sameAsUnprepared(Database db, ResultQuery<Record1<String>> query) {
        PreparedQuery<Record1<String>> prepared = db.prepare(query);
        java.util.Map<String, Object> values = new java.util.HashMap<>(java.util.Map.of("id", 3L, "not", "Bob", "title", "one"));
        values.keySet().retainAll(prepared.parameterNames());
        List<String> run = db.blockingSession().all(prepared.bind(values)).map(Record1::value1);
        values.forEach(query::bind);
        assertThat(run).as(prepared.sql()).isEqualTo(db.blockingSession().all(query).map(Record1::value1)).isNotEmpty();
    }

    // ---- records --------------------------------------------------------------------------------------------

    @Test
    void records__attached_unchanged_and_store_updates_not_inserts(Database db) {
        PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));

        UsersRecord ann = join(db.session().first(byId.bind(id, 1L))).orElseThrow();

        assertThat(ann.changed()).isFalse();
        assertThat(ann.original()).isEqualTo(ann);
        assertThat(ann.configuration()).isNotNull();
        ann.setId(9L); // changing the key and storing inserts a copy, as with any fetched record
        ann.setEmail("ann9@example.com");
        ann.store();
        assertThat(db.dsl().fetchCount(USERS)).isEqualTo(4);
        assertThat(ann.getCreatedAt().toInstant()).isEqualTo(T0.toInstant());
    }

    @Test
    void records__a_timestamptz_parameter_on_every_backend(Database db) {
        Param<OffsetDateTime> at = param("at", USERS.CREATED_AT);
        PreparedQuery<UsersRecord> prepared = db.prepare(selectFrom(USERS).where(USERS.CREATED_AT.eq(at)));

        assertThat(db.blockingSession().one(prepared.bind(at, T0.plusHours(1))).getName()).isEqualTo("Bob");
        // the same instant at another offset
        assertThat(db.blockingSession().one(prepared.bind(at, T0.plusHours(2).withOffsetSameInstant(ZoneOffset.ofHours(-5))))
                .getName()).isEqualTo("Cid");
    }

    // ---- what is sent ---------------------------------------------------------------------------------------

    /** The SQL the driver receives for a run equals what jOOQ sends for the same query with those values. */
    @Test
    void the_sql_sent_equals_what_the_same_query_sends_unprepared(TestDatabase test) throws Exception {
        List<String> sent = Collections.synchronizedList(new ArrayList<>());
        try (var pool = TestPools.pool(test, 2);
                Database db = Database.builder().dataSource(recording(pool, sent)).dialect(test.dialect()).build()) {
            Param<Long> user = param("user", Long.class);
            Param<Integer> x = param("x", Integer.class);
            List<java.util.function.Function<Boolean, ResultQuery<? extends Record>>> queries = List.of(
                    p -> selectFrom(USERS).where(USERS.ID.eq(p ? id : DSL.val(2L))),
                    p -> select(p ? x.as("v") : DSL.val(5).as("v")).from(USERS).where(USERS.ID.eq(1L)),
                    p -> selectFrom(POSTS).where(POSTS.USER_ID.eq(p ? user : DSL.val(1L))).orderBy(POSTS.ID).limit(p ? x : DSL.val(5)),
                    p -> select(DSL.coalesce(p ? param("s", String.class) : DSL.val("s"), DSL.val("d")).as("v")));
            for (var make : queries) {
                PreparedQuery<? extends Record> prepared = db.prepare(make.apply(true));
                PreparedQuery<? extends Record> bound = prepared;
                for (String name : prepared.parameterNames()) {
                    bound = bound.bind(name, switch (name) {
                        case "id" -> 2L;
                        case "user" -> 1L;
                        case "x" -> 5;
                        default -> "s";
                    });
                }
                sent.clear();
                db.blockingSession().all(bound);
                List<String> preparedSent = List.copyOf(sent);
                sent.clear();
                db.blockingSession().all(make.apply(false));
                assertThat(preparedSent).isEqualTo(List.copyOf(sent));
            }
        }
    }

    private static DataSource recording(DataSource delegate, List<String> sent) {
        InvocationHandler connections = (proxy, method, args) -> {
            Object result = invoke(delegate, method, args);
            if (result instanceof Connection connection) {
                return Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
                        (p, m, a) -> {
                            if (m.getName().startsWith("prepare") && a != null && a.length > 0 && a[0] instanceof String sql) {
                                sent.add(sql);
                            }
                            return invoke(connection, m, a);
                        });
            }
            return result;
        };
        return (DataSource) Proxy.newProxyInstance(DataSource.class.getClassLoader(), new Class<?>[] {DataSource.class},
                connections);
    }

    private static Object invoke(Object target, java.lang.reflect.Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    // ---- lifecycle ------------------------------------------------------------------------------------------

    @Test
    void a_prepared_query_after_its_database_is_closed_fails(TestDatabase test) {
        Database db = test.builder().build();
        PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id))).bind(id, 1L);
        assertThat(db.blockingSession().first(byId)).isPresent();
        db.close();

        // as an unprepared query on a closed database: IllegalStateException, on the calling thread
        assertThatThrownBy(() -> db.blockingSession().first(byId)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> db.session().first(byId)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> db.session().first(selectFrom(USERS))).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void concurrent_binds_of_one_shared_query_never_mix_values(Database db) throws Exception {
        Param<String> name = param("name", String.class);
        PreparedQuery<Record1<String>> echo = db.prepare(select(DSL.concat(name, DSL.val("|"), USERS.NAME)).from(USERS)
                .where(USERS.ID.eq(id)));
        List<CompletionStage<Optional<Record1<String>>>> calls = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            calls.add(db.session().first(echo.bind(name, "n" + i).bind(id, (long) (i % 3 + 1))));
        }
        List<String> names = List.of("Ann", "Bob", "Cid");
        for (int i = 0; i < calls.size(); i++) {
            assertThat(join(calls.get(i)).map(Record1::value1)).contains("n" + i + "|" + names.get(i % 3));
        }
    }
}
