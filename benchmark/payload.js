'use strict'

/** The session data of the benchmark and the soak: ~130 bytes of JSON in 6 fields. */
const PAYLOAD = {
  firstName: 'John',
  lastName: 'Doe',
  email: 'john.doe@example.com',
  role: 'admin',
  currentDeviceToken: 'a1b2c3d4e5f6',
  locale: 'en-US',
}

module.exports = { PAYLOAD }
