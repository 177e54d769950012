define('registry', {
  default: 'https://npm9-default.example.test/',
  type: url,
})
