// flowgate test stub (not Elasticsearch's code).
package org.elasticsearch.index.query;

public class RangeQueryBuilder implements QueryBuilder {
    private final String name;
    private Object from;
    private Object to;

    RangeQueryBuilder(String name) {
        this.name = name;
    }

    public RangeQueryBuilder from(Object v) {
        this.from = v;
        return this;
    }

    public RangeQueryBuilder to(Object v) {
        this.to = v;
        return this;
    }

    public RangeQueryBuilder includeLower(boolean b) {
        return this;
    }

    public RangeQueryBuilder includeUpper(boolean b) {
        return this;
    }

    public String toJson() {
        return "{\"range\":{\"field\":" + QueryBuilders.str(name) + ",\"from\":" + QueryBuilders.str(from) + ",\"to\":"
                + QueryBuilders.str(to) + "}}";
    }
}
