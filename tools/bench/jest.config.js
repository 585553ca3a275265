// The same Jest setup as the demo runner, whose modules the bench drives.
module.exports = require("../demo/jest.config.js");
