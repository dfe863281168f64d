package org.springframework.lang; public @interface Nullable {}
