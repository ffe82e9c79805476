<?php

return [
    'database' => [
        'type' => 'mysql',
        'host' => 'localhost',
        'port' => 3306,
        'name' => 'directus_thumper',
        'username' => 'directus',
        'password' => 'pa$$ "w0rd"',
        'engine' => 'InnoDB',
        'charset' => 'utf8mb4',
        // Remove 'host' above when using sockets
        'socket' => '',
    ],

    'cookie' => [
        'same_site' => 'Lax',
        'secure' => false
    ],

    'cors' => [
        'enabled' => true,
        'origin' => array('https://app.example.com', "https://admin.example.com"),
        'methods' => [
            'GET',
            'POST',
            'PUT',
            'PATCH',
            'DELETE',
            'HEAD'
        ],
        'headers' => [],
        'exposed_headers' => [],
        'max_age' => 600,
        'credentials' => false,
    ],

    'rate_limit' => [
        'enabled' => false,
        'limit' => 100,
        'interval' => 60,
    ],

    'storage' => [
        'adapter' => 'local',
        'root' => 'public/uploads/thumper/originals',
        'root_url' => '/uploads/thumper/originals',
        'thumb_root' => 'public/uploads/thumper/generated',
    ],

    'mail' => [
        'default' => [
            'transport' => 'sendmail',
            'sendmail' => '/usr/sbin/sendmail -bs',
            'from' => 'admin@example.com'
        ],
    ],

    'cache' => [
        'enabled' => false,
        'response_ttl' => 3600,
        'pool' => [
        ],
    ],

    'auth' => [
        'secret_key' => '<secret-key>',
        'public_key' => '<public-key>',
        'social_providers' => [
        ]
    ],
    'hooks' => [
        'actions' => [],
        'filters' => [],
    ],

    'tableBlacklist' => [],

    'env' => 'production',

    'logger' => [
        'path' => __DIR__ . '/../logs/app.log',
    ],
];
