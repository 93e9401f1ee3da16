<?php
// The PHP script of tests/test_interop_php.py, run by web2-cgi through
// php-cgi (a cgi-script mount with interpreter = "php-cgi").
$path = isset($_SERVER['PATH_INFO']) ? $_SERVER['PATH_INFO'] : '';
if ($path === '/status') {
    header('Status: 418 I am a teapot');
    header('X-PHP: yes');
    setcookie('first', 'one');
    setcookie('second', 'two');
    echo "short and stout";
    exit;
}
if ($path === '/away') {
    header('Location: http://example.org/elsewhere');
    exit;
}
if ($path === '/here') {
    // PHP adds "Status: 302" to a Location of its own: a client redirect.
    header('Location: ' . $_SERVER['SCRIPT_NAME'] . '/env?from=here');
    exit;
}
if ($path === '/upload') {
    $data = file_get_contents('php://input');
    echo strlen($data), ' ', hash('sha256', $data);
    exit;
}
if ($path === '/big') {
    for ($i = 0; $i < 64; $i++) {
        echo str_repeat(chr(65 + $i % 26), 16384);
        flush();
    }
    exit;
}
$files = array();
foreach ($_FILES as $name => $file) {
    $files[$name] = array($file['name'], $file['size'],
                          hash_file('sha256', $file['tmp_name']));
}
header('Content-Type: application/json');
echo json_encode(array(
    'method' => $_SERVER['REQUEST_METHOD'],
    'script_name' => $_SERVER['SCRIPT_NAME'],
    'path_info' => $path,
    'query' => $_SERVER['QUERY_STRING'],
    'get' => $_GET,
    'post' => $_POST,
    'files' => $files,
    'agent' => isset($_SERVER['HTTP_USER_AGENT']) ? $_SERVER['HTTP_USER_AGENT'] : null,
    'remote' => $_SERVER['REMOTE_ADDR'],
    'host' => $_SERVER['HTTP_HOST'],
));
