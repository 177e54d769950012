registry: new Definition('registry', {
  default: 'https://npm-default.example.test/',
  type: url,
})
