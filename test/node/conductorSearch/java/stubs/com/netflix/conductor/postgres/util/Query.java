// flowgate test stub (not Conductor's Query): records the parameters a builder binds, in order.
package com.netflix.conductor.postgres.util;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

public class Query {
    public final List<Object> parameters = new ArrayList<>();

    public Query addParameter(String value) {
        parameters.add(value);
        return this;
    }

    public Query addParameter(List<String> value) throws SQLException {
        parameters.add(new ArrayList<>(value));
        return this;
    }

    public Query addParameter(int value) {
        parameters.add(value);
        return this;
    }
}
