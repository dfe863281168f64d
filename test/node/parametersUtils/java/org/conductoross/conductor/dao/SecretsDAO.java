package org.conductoross.conductor.dao; public interface SecretsDAO { String getSecret(String name); }
