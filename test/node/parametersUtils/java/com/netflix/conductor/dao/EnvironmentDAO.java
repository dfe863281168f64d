package com.netflix.conductor.dao; public interface EnvironmentDAO { String getEnvVariable(String name); }
