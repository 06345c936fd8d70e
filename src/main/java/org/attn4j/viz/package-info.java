/** Pictures, drawn with the JDK alone (Java2D, headless): line plots of training histories. */
package org.attn4j.viz;
