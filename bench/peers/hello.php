<?php
// The PHP-FPM hello. PHP sends no Status: line for a 200 (CGI's default),
// and text/html is its default Content-Type.
echo '<h1>Hello, World!</h1>';
