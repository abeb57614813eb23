package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.READINGS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.enums.PostStatus;
import dev.sqlservice.testing.TestDatabase;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jooq.Field;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;

/**
 * Issue 17, seventh session: a prepared query's direct run sets its values by each value's jOOQ binding without
 * jOOQ's bind context ({@link DirectBinds}). What the server receives must be what jOOQ's own binding sends: every
 * type it takes, nulls among them, is echoed back by the server and compared with the unprepared query's values
 * (bound by jOOQ); values are compared on the server with columns; a setting that changes a binding is honoured.
 * Binds it does not take (a converter, bytes, MariaDB's visit listener) keep jOOQ's bind context.
 */
@ExampleDatabase
class PreparedBindsTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 29, 1, 30, 15, 123_456_000, ZoneOffset.ofHours(2));

    private static boolean postgres(Database db) {
        return db.dialect().family() == SQLDialect.POSTGRES;
    }

    /** Every type, each as a parameter echoed back by the select list; run with values, then with nulls. */
    @Test
    void every_type_it_binds_reaches_the_server_as_jooq_binds_it(Database db) {
        List<Param<?>> params = List.of(param("l", Long.class), param("i", Integer.class), param("s", Short.class),
                param("b", Byte.class), param("bi", BigInteger.class), param("bd", BigDecimal.class),
                param("bool", Boolean.class), param("d", Double.class), param("f", Float.class),
                param("str", String.class), param("t", OffsetDateTime.class), param("u", UUID.class));
        List<Object> values = List.of(-9_000_000_000L, 2_000_000_000, (short) -32000, (byte) 7,
                new BigInteger("123456789012345678901234567890"), new BigDecimal("-12345.678900"), true, 1.0 / 3,
                2.5f, "ünïcode 'quoted' \u00e9", T0, UUID.fromString("00000000-0000-0000-0000-0000000000aa"));
        List<Field<?>> echoed = new ArrayList<>();
        for (Param<?> p : params) {
            echoed.add(p.as(p.getParamName()));
        }
        PreparedQuery<Record> prepared = db.prepare(select(echoed));
        PreparedQuery<Record> bound = prepared;
        PreparedQuery<Record> nulls = prepared;
        for (int k = 0; k < params.size(); k++) {
            bound = bound.bind(params.get(k).getParamName(), values.get(k));
            nulls = nulls.bind(params.get(k).getParamName(), null);
        }
        assertThat(bound.run(db).bindsDirectly()).as("bound without jOOQ's bind context").isEqualTo(postgres(db));

        List<Field<?>> unprepared = new ArrayList<>();
        List<Field<?>> unpreparedNulls = new ArrayList<>();
        for (int k = 0; k < params.size(); k++) {
            Param<?> p = params.get(k);
            unprepared.add(DSL.val(values.get(k), p.getDataType()).as(p.getParamName()));
            unpreparedNulls.add(DSL.val(null, p.getDataType()).as(p.getParamName()));
        }
        Record expected = db.blockingSession().one(select(unprepared));
        Record actual = db.blockingSession().one(bound);
        assertThat(actual.intoArray()).containsExactly(expected.intoArray());
        assertThat(Stages.join(db.session().one(bound)).intoArray()).containsExactly(expected.intoArray());
        Record expectedNulls = db.blockingSession().one(select(unpreparedNulls));
        assertThat(db.blockingSession().one(nulls).intoArray()).containsExactly(expectedNulls.intoArray())
                .containsOnlyNulls();
    }

    /** Values compared with stored columns on the server: a key, a text, a timestamp at another offset. */
    @Test
    void bound_values_find_the_rows_jooq_finds(Database db) {
        UsersAndPosts.users(db, T0);
        db.dsl().insertInto(READINGS, READINGS.TAKEN_AT, READINGS.NOTE).values(T0, "r").execute();
        Param<Long> id = param("id", Long.class);
        Param<String> name = param("name", String.class);
        PreparedQuery<?> byIdAndName = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)).and(USERS.NAME.eq(name)));
        assertThat(byIdAndName.bind(id, 1L).bind(name, "Ann").run(db).bindsDirectly()).isEqualTo(postgres(db));
        for (long key = 1; key <= 3; key++) {
            String n = db.dsl().fetchValue(USERS.NAME, USERS.ID.eq(key));
            DirectRowsTest.sameRecords(db.blockingSession().one(byIdAndName.bind(id, key).bind(name, n)),
                    db.dsl().fetchOne(selectFrom(USERS).where(USERS.ID.eq(key)).and(USERS.NAME.eq(n))));
        }
        assertThat(db.blockingSession().oneOrNone(byIdAndName.bind(id, 1L).bind(name, "nobody"))).isEmpty();

        Param<OffsetDateTime> at = param("at", OffsetDateTime.class);
        PreparedQuery<?> byTime = db.prepare(selectFrom(READINGS).where(READINGS.TAKEN_AT.eq(at)));
        OffsetDateTime sameInstantElsewhere = T0.withOffsetSameInstant(ZoneOffset.ofHours(-7));
        assertThat(db.blockingSession().all(byTime.bind(at, sameInstantElsewhere)).size())
                .isEqualTo(db.dsl().fetchCount(selectFrom(READINGS).where(READINGS.TAKEN_AT.eq(sameInstantElsewhere))))
                .isEqualTo(1);
    }

    /** bindOffsetDateTimeType changes what jOOQ's binding sends: honoured as jOOQ honours it. */
    @Test
    void a_setting_that_changes_a_binding_is_honoured(TestDatabase test) {
        try (Database other = test.builder().settings(new Settings().withBindOffsetDateTimeType(true)).build()) {
            Param<OffsetDateTime> t = param("t", OffsetDateTime.class);
            PreparedQuery<?> echo = other.prepare(select(t.as("t")));
            assertThat(echo.bind(t, T0).run(other).bindsDirectly()).isEqualTo(postgres(other));
            Record expected = other.blockingSession().one(select(DSL.val(T0).as("t")));
            assertThat(other.blockingSession().one(echo.bind(t, T0)).intoArray()).containsExactly(expected.intoArray());

            other.dsl().insertInto(READINGS, READINGS.TAKEN_AT, READINGS.NOTE).values(T0, "setting").execute();
            PreparedQuery<?> byTime = other.prepare(selectFrom(READINGS).where(READINGS.TAKEN_AT.eq(t)));
            OffsetDateTime elsewhere = T0.withOffsetSameInstant(ZoneOffset.ofHours(-7));
            assertThat(other.blockingSession().all(byTime.bind(t, elsewhere)).size())
                    .isEqualTo(other.dsl().fetchCount(selectFrom(READINGS).where(READINGS.TAKEN_AT.eq(elsewhere))))
                    .isEqualTo(1);
        }
    }

    /** A bind with a converter (an enum), or of bytes, keeps jOOQ's bind context, and binds the same. */
    @Test
    void binds_it_does_not_take_keep_jooqs_bind_context(Database db) {
        UsersAndPosts.users(db, T0);
        UsersAndPosts.posts(db, 3);
        Param<PostStatus> status = param("status", POSTS.STATUS.getDataType());
        PreparedQuery<?> byStatus = db.prepare(selectFrom(POSTS).where(POSTS.STATUS.eq(status)).orderBy(POSTS.ID));
        assertThat(byStatus.bind(status, PostStatus.values()[0]).run(db).bindsDirectly()).isFalse();
        assertThat(db.blockingSession().all(byStatus.bind(status, PostStatus.values()[0])).map(r -> r.get(POSTS.ID)))
                .isEqualTo(db.dsl().fetch(selectFrom(POSTS).where(POSTS.STATUS.eq(PostStatus.values()[0])).orderBy(POSTS.ID))
                        .map(r -> r.get(POSTS.ID)));

        Param<byte[]> bytes = param("bytes", byte[].class);
        PreparedQuery<?> echo = db.prepare(select(bytes.as("bytes")));
        assertThat(echo.bind(bytes, new byte[] {1, 2}).run(db).bindsDirectly()).isFalse();
        assertThat((byte[]) db.blockingSession().one(echo.bind(bytes, new byte[] {1, 2})).get(0))
                .isEqualTo(new byte[] {1, 2});
    }
}
