package dev.sqlservice;

import java.sql.Array;
import java.sql.Blob;
import java.sql.Clob;
import java.sql.PreparedStatement;
import java.sql.SQLXML;
import java.util.Set;
import org.jooq.Binding;
import org.jooq.BindingSetStatementContext;
import org.jooq.Configuration;
import org.jooq.Converter;
import org.jooq.DSLContext;
import org.jooq.DataType;
import org.jooq.ExecuteContext;

/**
 * Sets the values of a prepared query's direct run ({@link PreparedQuery.TypedQuery#fetch}) on its statement by
 * each value's own jOOQ {@link Binding#set}, without jOOQ's bind context: no context object, no {@code Val}, no
 * visit per value.
 *
 * <p>What stays jOOQ's: the binding, and so the JDBC setter, the conversion of the value by the binding's
 * converter, the settings it reads ({@code bindOffsetDateTimeType}, ...) and jOOQ's TRACE log of each bound value
 * (inside {@code Binding.set}). The context is what jOOQ's bind context hands a binding, the statement, the JDBC
 * index (from 1), the value and the configuration, but no {@link ExecuteContext}: {@code executeContext()}
 * answers null, where jOOQ's bind context outside an execution hands a binding a stand-in ({@code
 * SimpleExecuteContext}) that the bindings below never ask for.
 *
 * <p>Only for jOOQ's built-in bindings of the types in {@link #BINDINGS} without a converter of their own, whose
 * {@code set} needs nothing more (checked against their code in jOOQ 3.21: the statement, the index, the
 * settings, the dialect and family, and the configuration for a null's SQL type), and only on a configuration
 * without visit listeners (see {@link #of}); a query with any other bind is bound through jOOQ's bind context, as
 * before. Should a binding still ask for more, or a value fail to bind, {@link #bind} binds every value again
 * through jOOQ's bind context, which then fails as jOOQ fails (a setter that failed once and then succeeds would
 * let the run go on where jOOQ's would have failed; a driver's setter does not work that way). Runs on the
 * calling thread, the call's.
 */
final class DirectBinds {

    /** jOOQ's built-in bindings whose {@code set} needs only what this context answers (not byte[]: its binding asks for the execute context). */
    private static final Set<String> BINDINGS = Set.of("DefaultLongBinding", "DefaultIntegerBinding",
            "DefaultShortBinding", "DefaultByteBinding", "DefaultBigIntegerBinding", "DefaultBigDecimalBinding",
            "DefaultBooleanBinding", "DefaultDoubleBinding", "DefaultFloatBinding", "DefaultStringBinding",
            "DefaultOffsetDateTimeBinding", "DefaultUUIDBinding");

    /** Off: every direct run binds through jOOQ's bind context (for benchmarks and comparisons). */
    static volatile boolean enabled = !Boolean.getBoolean("sqlservice.prepared.bindThroughJooq");

    private final Binding<?, ?>[] bindings;
    private final Class<?>[] types;

    private DirectBinds(Binding<?, ?>[] bindings, Class<?>[] types) {
        this.bindings = bindings;
        this.types = types;
    }

    /**
     * The binder of values of {@code types} (one per bind, in order), or null when they need jOOQ's bind context:
     * a binding outside {@link #BINDINGS}, a converter, or a configuration with a {@code VisitListener} (jOOQ's
     * bind context visits each value, so a listener may replace it there: MariaDB's
     * {@link MariaDbBackend.Timestamps} sends an {@code OffsetDateTime} as its UTC {@code LocalDateTime}).
     */
    static DirectBinds of(Configuration configuration, DataType<?>[] types) {
        if (configuration.visitListenerProviders().length > 0) {
            return null;
        }
        Binding<?, ?>[] bindings = new Binding<?, ?>[types.length];
        Class<?>[] classes = new Class<?>[types.length];
        for (int i = 0; i < types.length; i++) {
            Binding<?, ?> binding = types[i].getBinding();
            if (!(binding.converter() instanceof org.jooq.impl.IdentityConverter<?>)
                    || types[i].getConverter() != null && !(types[i].getConverter() instanceof org.jooq.impl.IdentityConverter<?>)
                    || binding.getClass().getEnclosingClass() != org.jooq.impl.DefaultBinding.class
                    || !BINDINGS.contains(binding.getClass().getSimpleName())) {
                return null;
            }
            bindings[i] = binding;
            classes[i] = types[i].getType();
        }
        return new DirectBinds(bindings, classes);
    }

    /**
     * Sets {@code values} (one per bind, in order) on {@code statement} from JDBC index 1. A value that is not of
     * its bind's type, a binding that asks for what this context does not have, or a failure to bind: every value
     * is bound again, from the first, through jOOQ's bind context ({@code fallback}), which reports a failure as
     * jOOQ reports it.
     *
     * @throws org.jooq.exception.DataAccessException when a value cannot be bound, as jOOQ's bind context throws it
     */
    void bind(DSLContext dsl, PreparedStatement statement, Object[] values, Runnable fallback) {
        if (enabled) {
            Context context = new Context(dsl, statement);
            try {
                for (int i = 0; i < values.length; i++) {
                    Object value = values[i];
                    if (value != null && !types[i].isInstance(value)) {
                        fallback.run();
                        return;
                    }
                    context.at(i + 1, value);
                    set(bindings[i], context);
                }
                return;
            } catch (Exception e) {
                // bound again below by jOOQ, which fails as it fails (or binds what this context could not)
            }
        }
        fallback.run();
    }

    @SuppressWarnings("unchecked")
    private static void set(Binding<?, ?> binding, Context context) throws java.sql.SQLException {
        ((Binding<Object, Object>) binding).set(context);
    }

    /** What a built-in binding's {@code set} asks for: the statement, the index, the value, the configuration. */
    private static final class Context extends DirectScope implements BindingSetStatementContext<Object> {
        private final PreparedStatement statement;
        private int index;
        private Object value;

        Context(DSLContext dsl, PreparedStatement statement) {
            super(dsl);
            this.statement = statement;
        }

        void at(int index, Object value) {
            this.index = index;
            this.value = value;
        }

        @Override
        public PreparedStatement statement() {
            return statement;
        }

        @Override
        public int index() {
            return index;
        }

        @Override
        public Object value() {
            return value;
        }

        @Override
        public <T> BindingSetStatementContext<T> convert(Converter<? extends T, ? super Object> converter) {
            throw new UnsupportedOperationException("a direct bind converts no value");
        }

        @Override
        public Array autoFree(Array array) {
            throw new UnsupportedOperationException("a direct bind frees no resource");
        }

        @Override
        public Blob autoFree(Blob blob) {
            throw new UnsupportedOperationException("a direct bind frees no resource");
        }

        @Override
        public Clob autoFree(Clob clob) {
            throw new UnsupportedOperationException("a direct bind frees no resource");
        }

        @Override
        public SQLXML autoFree(SQLXML xml) {
            throw new UnsupportedOperationException("a direct bind frees no resource");
        }

        @Override
        public <R extends java.io.Closeable> R autoClose(R closeable) {
            throw new UnsupportedOperationException("a direct bind closes no resource");
        }

        @Override
        public <R extends AutoCloseable> R autoClose(R closeable) {
            throw new UnsupportedOperationException("a direct bind closes no resource");
        }
    }
}
