<?php
/*
 * Runs functions of the vpncp WHMCS module outside WHMCS, as WHMCS would call them.
 * argv[1]: the module file. stdin: {"calls": [{"function": "CreateAccount", "params": {...},
 * "post": {...}?} or {"function": "bridgeUrl", "args": [...]}]}. stdout: {"results": [...], "updates": [...], "log": [...]}.
 * Stands in for what WHMCS provides: the WHMCS constant, logModuleCall, and Capsule (the
 * tblhosting updates of UsageUpdate are recorded, not written).
 */

namespace WHMCS\Database {
    final class CapsuleQuery
    {
        private array $wheres = [];

        public function __construct(private string $table)
        {
        }

        public function where(string $column, $value): self
        {
            $this->wheres[$column] = $value;
            return $this;
        }

        public function update(array $values): int
        {
            $record = [];
            foreach ($values as $key => $value) {
                $record[$key] = $value instanceof CapsuleRaw ? ['raw' => $value->sql] : $value;
            }
            Capsule::$updates[] = ['table' => $this->table, 'where' => $this->wheres, 'values' => $record];
            return 1;
        }
    }

    final class CapsuleRaw
    {
        public function __construct(public string $sql)
        {
        }
    }

    final class Capsule
    {
        public static array $updates = [];

        public static function table(string $name): CapsuleQuery
        {
            return new CapsuleQuery($name);
        }

        public static function raw(string $sql): CapsuleRaw
        {
            return new CapsuleRaw($sql);
        }
    }
}

namespace {
    define('WHMCS', true);

    $GLOBALS['vpncp_log'] = [];

    function logModuleCall($module, $action, $request, $response, $processed, $replace): void
    {
        $text = json_encode([$module, $action, $request, $response, $processed]);
        foreach ($replace as $secret) {
            $text = str_replace((string) $secret, '***', $text);
        }
        $GLOBALS['vpncp_log'][] = $text;
    }

    require $argv[1];

    $input = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
    $results = [];
    foreach ($input['calls'] as $call) {
        $_POST = $call['post'] ?? [];
        $_SERVER['REQUEST_METHOD'] = isset($call['post']) ? 'POST' : 'GET';
        $function = 'vpncp_' . $call['function'];
        $results[] = isset($call['args']) ? $function(...$call['args']) : $function($call['params'] ?? []);
    }
    echo json_encode([
        'results' => $results,
        'updates' => \WHMCS\Database\Capsule::$updates,
        'log' => $GLOBALS['vpncp_log'],
    ], JSON_UNESCAPED_SLASHES);
}
