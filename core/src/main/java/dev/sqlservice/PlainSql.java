package dev.sqlservice;

import java.lang.reflect.Array;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jooq.Query;
import org.jooq.Record;
import org.jooq.ResultQuery;
import org.jooq.impl.CustomQueryPart;
import org.jooq.impl.DSL;

/**
 * Turns SQL with {@code :named} parameters into a jOOQ query whose values are all bind variables.
 *
 * <p>The SQL text reaches jOOQ through {@code Context.sql(String)}, which jOOQ never parses; so jOOQ's own
 * plain-SQL template rules (positional {@code :name} binding, {@code {n}} placeholders, #7014) never apply.
 */
final class PlainSql {

    static ResultQuery<Record> resultQuery(String sql, Map<String, ?> params, Backend backend) {
        return DSL.resultQuery("{0}", part(sql, params, backend));
    }

    static Query query(String sql, Map<String, ?> params, Backend backend) {
        return DSL.query("{0}", part(sql, params, backend));
    }

    /** A query of SQL parsed before ({@link PreparedQuery}). */
    static ResultQuery<Record> resultQuery(NamedSql parsed, Map<String, ?> params) {
        return DSL.resultQuery("{0}", part(parsed, params));
    }

    private static CustomQueryPart part(String sql, Map<String, ?> params, Backend backend) {
        Objects.requireNonNull(sql, "sql == null");
        Objects.requireNonNull(params, "params == null");
        return part(NamedSql.parse(sql, backend.namedParameters()), params);
    }

    private static CustomQueryPart part(NamedSql parsed, Map<String, ?> params) {
        List<Object> pieces = parsed.expand(params);
        return CustomQueryPart.of(ctx -> {
            for (Object piece : pieces) {
                if (piece instanceof NamedSql.Bind bind) {
                    ctx.visit(DSL.val(boxed(bind.value())));
                } else {
                    ctx.sql((String) piece);
                }
            }
        });
    }

    /** jOOQ binds object arrays as SQL arrays, but knows no primitive arrays. */
    private static Object boxed(Object value) {
        if (value == null || !value.getClass().isArray() || !value.getClass().getComponentType().isPrimitive()
                || value instanceof byte[]) {
            return value;
        }
        int length = Array.getLength(value);
        Object[] boxed = (Object[]) Array.newInstance(wrapper(value.getClass().getComponentType()), length);
        for (int i = 0; i < length; i++) {
            boxed[i] = Array.get(value, i);
        }
        return boxed;
    }

    private static Class<?> wrapper(Class<?> primitive) {
        return java.lang.invoke.MethodType.methodType(primitive).wrap().returnType();
    }

    private PlainSql() {}
}
