<?php
/**
 * vpncp: WHMCS server module for VPN accounts (WireGuard and IKEv2) on many vpncp nodes.
 *
 * A thin client of the vpncp WHMCS bridge (`vpncp bridge serve`): each function forwards its
 * $params as JSON to POST <bridge>/bridge/<Function> and returns the bridge's answer. Placement
 * over nodes, account names, bandwidth and usage are the bridge's work.
 *
 * Set up in WHMCS (System Settings > Servers): Hostname = the bridge's host name, Port = its
 * port when not 443, Access Hash (or Password) = the bridge's token, Secure (SSL) ticked.
 * Products: module "vpncp"; optional configurable options "Bandwidth Download" and
 * "Bandwidth Upload" (Mbit, 0 = the VPN server's default) and "Region".
 *
 * Plain PHP 8.2 with the curl extension, no framework.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

function vpncp_MetaData(): array
{
    return [
        'DisplayName' => 'vpncp VPN',
        'APIVersion' => '1.1',
        'RequiresServer' => true,
        'DefaultSSLPort' => '443',
        'DefaultNonSSLPort' => '8099',
        'ServiceSingleSignOnLabel' => false,
        'AdminSingleSignOnLabel' => false,
    ];
}

/** Product settings; configoption1..3 in this order. Configurable options of the same names win. */
function vpncp_ConfigOptions(): array
{
    return [
        'Bandwidth Download' => [
            'Type' => 'text',
            'Size' => '6',
            'Default' => '0',
            'Description' => 'Mbit/s to the customer; 0 = the VPN server\'s default',
        ],
        'Bandwidth Upload' => [
            'Type' => 'text',
            'Size' => '6',
            'Default' => '0',
            'Description' => 'Mbit/s from the customer; 0 = the VPN server\'s default',
        ],
        'Region' => [
            'Type' => 'text',
            'Size' => '16',
            'Default' => '',
            'Description' => 'Place accounts only on nodes of this region (empty: any)',
        ],
    ];
}

/** WHMCS passes "Secure" as a boolean, older versions as "on". */
function vpncp_isOn($value): bool
{
    if (is_bool($value)) {
        return $value;
    }
    return in_array(strtolower(trim((string) $value)), ['1', 'on', 'true', 'yes'], true);
}

/** The bridge's URL for a function, from the WHMCS server's hostname (or IP), port and Secure flag. */
function vpncp_bridgeUrl(array $params, string $function): string
{
    $host = trim((string) ($params['serverhostname'] ?? ''));
    if ($host === '') {
        $host = trim((string) ($params['serverip'] ?? ''));
    }
    $port = trim((string) ($params['serverport'] ?? ''));
    // "host:port" in the hostname field (not for IPv6 literals, which hold several colons)
    if (substr_count($host, ':') === 1 && preg_match('/^(.+):(\d{1,5})$/', $host, $m)) {
        $host = $m[1];
        if ($port === '') {
            $port = $m[2];
        }
    }
    $bare = trim($host, '[]');
    if (filter_var($bare, FILTER_VALIDATE_IP, FILTER_FLAG_IPV6)) {
        $host = '[' . $bare . ']';
    }
    // Plain http only over the loopback interface (the bridge on the WHMCS machine itself, and the
    // module's tests) or when the admin turned "Secure" off for this server on purpose (a private
    // network); the token then travels unencrypted. Everything else speaks https with the
    // certificate checked.
    $loopback = in_array(strtolower($bare), ['127.0.0.1', 'localhost', '::1'], true);
    $secure = vpncp_isOn($params['serversecure'] ?? true);
    $scheme = ($secure && !$loopback) ? 'https' : 'http';
    return $scheme . '://' . $host . ($port !== '' ? ':' . $port : '') . '/bridge/' . rawurlencode($function);
}

/** The bridge's token: the server's Access Hash, else its Password. */
function vpncp_token(array $params): string
{
    $hash = trim((string) ($params['serveraccesshash'] ?? ''));
    return $hash !== '' ? $hash : (string) ($params['serverpassword'] ?? '');
}

/** $params as JSON, without the server's credentials (the token goes in a header) or objects (the model). */
function vpncp_payload(array $params): string
{
    $forward = [];
    foreach ($params as $key => $value) {
        if (is_object($value) || in_array($key, ['serverpassword', 'serveraccesshash'], true)) {
            continue;
        }
        $forward[$key] = $value;
    }
    $json = json_encode($forward, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR);
    return $json === false ? '{}' : $json;
}

/**
 * Calls the bridge: ['result' => 'success' | sentence, 'data' => …]. Never throws; a bridge that
 * cannot be reached becomes a sentence too.
 */
function vpncp_call(string $function, array $params, int $timeout = 60): array
{
    $token = vpncp_token($params);
    if ($token === '') {
        return ['result' => 'The server has no Access Hash or Password: set it to the bridge\'s token'];
    }
    $url = vpncp_bridgeUrl($params, $function);
    $body = vpncp_payload($params);
    $curl = curl_init($url);
    curl_setopt_array($curl, [
        CURLOPT_POST => true,
        CURLOPT_POSTFIELDS => $body,
        CURLOPT_HTTPHEADER => [
            'Content-Type: application/json',
            'Accept: application/json',
            'Authorization: Bearer ' . $token,
        ],
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_CONNECTTIMEOUT => 10,
        CURLOPT_TIMEOUT => $timeout,
        CURLOPT_SSL_VERIFYPEER => true,
        CURLOPT_SSL_VERIFYHOST => 2,
        CURLOPT_FOLLOWLOCATION => false,
    ]);
    $raw = curl_exec($curl);
    $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
    $error = curl_error($curl);
    curl_close($curl);

    if ($raw === false) {
        $answer = ['result' => 'Cannot reach the vpncp bridge: ' . $error];
    } else {
        $decoded = json_decode((string) $raw, true);
        if (is_array($decoded) && isset($decoded['result']) && is_string($decoded['result'])) {
            $answer = $decoded;
        } else {
            $answer = ['result' => 'The vpncp bridge answered HTTP ' . $status . ' without a result'];
        }
    }

    if (function_exists('logModuleCall')) {
        $secrets = [$token];
        if (!empty($params['password'])) {
            $secrets[] = (string) $params['password'];
        }
        logModuleCall('vpncp', $function, $body, $raw === false ? $error : $raw, $answer['result'], $secrets);
    }
    return $answer;
}

/** "success" or the bridge's sentence: what WHMCS expects from the account functions. */
function vpncp_result(string $function, array $params): string
{
    $answer = vpncp_call($function, $params);
    return (string) $answer['result'];
}

function vpncp_CreateAccount(array $params): string
{
    return vpncp_result('CreateAccount', $params);
}

function vpncp_SuspendAccount(array $params): string
{
    return vpncp_result('SuspendAccount', $params);
}

function vpncp_UnsuspendAccount(array $params): string
{
    return vpncp_result('UnsuspendAccount', $params);
}

function vpncp_TerminateAccount(array $params): string
{
    return vpncp_result('TerminateAccount', $params);
}

function vpncp_ChangePassword(array $params): string
{
    return vpncp_result('ChangePassword', $params);
}

function vpncp_ChangePackage(array $params): string
{
    return vpncp_result('ChangePackage', $params);
}

/** WHMCS wants ['success' => bool, 'error' => sentence] here. */
function vpncp_TestConnection(array $params): array
{
    $answer = vpncp_call('TestConnection', $params);
    $ok = $answer['result'] === 'success';
    return ['success' => $ok, 'error' => $ok ? '' : (string) $answer['result']];
}

/**
 * Daily cron, once per server: the bridge reports every service's traffic of the month in MB
 * (bytes / 1048576, rounded; what tblhosting.bwusage holds). Rows are matched by service id
 * and this server, never by domain (VPN services share none).
 */
function vpncp_UsageUpdate(array $params): string
{
    $answer = vpncp_call('UsageUpdate', $params, 300);
    $services = $answer['data']['services'] ?? [];
    if (is_array($services) && class_exists('\\WHMCS\\Database\\Capsule')) {
        foreach ($services as $service) {
            try {
                \WHMCS\Database\Capsule::table('tblhosting')
                    ->where('id', (int) $service['serviceid'])
                    ->where('server', (int) ($params['serverid'] ?? 0))
                    ->update([
                        'diskusage' => 0,
                        'bwusage' => (int) $service['bwusage'],
                        'lastupdate' => \WHMCS\Database\Capsule::raw('now()'),
                    ]);
            } catch (\Exception $e) {
                // one row that cannot be written must not stop the others
                if (function_exists('logModuleCall')) {
                    logModuleCall('vpncp', 'UsageUpdate', $service, $e->getMessage(), '', []);
                }
            }
        }
    }
    return (string) $answer['result'];
}

function vpncp_e($value): string
{
    return htmlspecialchars((string) $value, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}

function vpncp_download(string $label, string $filename, string $type, string $content): string
{
    return '<a class="btn btn-default" download="' . vpncp_e($filename) . '" href="data:' . $type . ';base64,'
        . base64_encode($content) . '">' . vpncp_e($label) . '</a> ';
}

/** Gigabytes as WHMCS shows them (MB / 1024). */
function vpncp_gb($mb): string
{
    return number_format(((float) $mb) / 1024, 2) . ' GB';
}

/**
 * The customer's page: WireGuard QR, config and download, IKEv2 profiles when IKEv2 is on, this
 * month's traffic, and a button that makes a one-time link (made only when pressed: each link
 * stays live on the node until opened or expired).
 */
function vpncp_ClientArea(array $params): string
{
    $html = '<div class="vpncp">';
    if (($_SERVER['REQUEST_METHOD'] ?? '') === 'POST' && isset($_POST['vpncp_otl'])) {
        $link = vpncp_call('OneTimeLink', $params);
        if ($link['result'] === 'success') {
            $url = (string) ($link['data']['url'] ?? '');
            $html .= '<div class="alert alert-success">One-time link (opens once): <a href="' . vpncp_e($url) . '">'
                . vpncp_e($url) . '</a></div>';
        } else {
            $html .= '<div class="alert alert-danger">' . vpncp_e($link['result']) . '</div>';
        }
    }

    $answer = vpncp_call('ClientArea', $params);
    if ($answer['result'] !== 'success') {
        return $html . '<div class="alert alert-warning">' . vpncp_e($answer['result']) . '</div></div>';
    }
    $data = $answer['data'];
    $account = $data['account'];
    $traffic = $data['traffic'];
    $file = preg_replace('/[^A-Za-z0-9_-]/', '_', (string) $account['name']);

    $html .= '<h3>WireGuard</h3>';
    $html .= '<p>Status: <strong>' . vpncp_e($account['status'] === 'enable' ? 'active' : 'suspended') . '</strong>';
    $html .= ' &middot; Bandwidth: ' . vpncp_e($account['b_download']) . ' / ' . vpncp_e($account['b_upload'])
        . ' Mbit/s (down / up; 0 = unlimited)</p>';
    $html .= '<p><img alt="WireGuard QR code" width="250" height="250" src="data:image/png;base64,'
        . vpncp_e($data['config_qr']) . '"></p>';
    $html .= '<pre class="vpncp-config">' . vpncp_e($data['config_text']) . '</pre>';
    $html .= '<p>' . vpncp_download('Download ' . $file . '.conf', $file . '.conf', 'text/plain', (string) $data['config_text']) . '</p>';

    if (!empty($data['ikev2'])) {
        $ikev2 = $data['ikev2'];
        $html .= '<h3>IKEv2</h3><p>Server: <code>' . vpncp_e($ikev2['server']) . '</code> &middot; Username: <code>'
            . vpncp_e($ikev2['username']) . '</code> &middot; Password: <code>' . vpncp_e($account['password']) . '</code></p>';
        $html .= '<p>' . vpncp_download('Android (strongSwan) profile', $file . '.sswan', 'application/vnd.strongswan.profile', (string) $ikev2['sswan'])
            . vpncp_download('Apple profile', $file . '.mobileconfig', 'application/x-apple-aspen-config', (string) $ikev2['mobileconfig'])
            . '</p>';
    }

    $html .= '<h3>Traffic ' . vpncp_e(sprintf('%04d-%02d', $traffic['year'], $traffic['month'])) . '</h3>';
    $html .= '<p>Download ' . vpncp_gb($traffic['download_mb']) . ' &middot; Upload ' . vpncp_gb($traffic['upload_mb'])
        . ' &middot; Total ' . vpncp_gb($traffic['total_mb']) . '</p>';

    $token = function_exists('generate_token') ? generate_token('form') : '';
    $html .= '<form method="post">' . $token
        . '<button class="btn btn-primary" type="submit" name="vpncp_otl" value="1">Create a one-time link</button></form>';
    return $html . '</div>';
}

/** The admin's service tab: where the account lives, its peer, mangle rules and shaping. */
function vpncp_AdminServicesTabFields(array $params): array
{
    $answer = vpncp_call('AdminServicesTabFields', $params);
    if ($answer['result'] !== 'success') {
        return ['vpncp' => '<span class="label label-danger">' . vpncp_e($answer['result']) . '</span>'];
    }
    $data = $answer['data'];
    $account = $data['account'];
    $rows = [];
    foreach ($data['dump'] as $key => $value) {
        $rows[] = vpncp_e($key) . ': ' . vpncp_e($value);
    }
    return [
        'VPN node' => vpncp_e($data['node']['id']) . ' (' . vpncp_e($data['node']['url']) . ')'
            . ($data['node']['region'] !== null ? ' region ' . vpncp_e($data['node']['region']) : ''),
        'Account' => vpncp_e($account['name']) . ' on ' . vpncp_e($data['server']) . ', ' . vpncp_e($account['allowed_IPs'])
            . ', ' . vpncp_e($account['status']) . ', ' . vpncp_e($account['b_download']) . '/' . vpncp_e($account['b_upload'])
            . ' Mbit/s, mark ' . vpncp_e($account['mangle']),
        'Peer (dump)' => implode('<br>', $rows),
        'Mangle rules' => '<pre>' . vpncp_e($data['mangle_rules']) . '</pre>',
        'Traffic control' => '<pre>' . vpncp_e($data['traffic_control']) . '</pre>',
    ];
}
